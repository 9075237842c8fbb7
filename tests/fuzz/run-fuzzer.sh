#!/bin/sh
# run-fuzzer.sh FUZZER SEED_DIR [LIBFUZZER_OPTION…]: runs FUZZER over a copy
# of its seed corpus (libFuzzer adds what it finds to the first folder, and
# the seeds in git must stay as they are).  Exits non-zero on a crash, a
# leak or a failed invariant; the input that did it is kept in
# $FUZZ_ARTIFACTS (default: the temporary folder, printed).
set -eu
# The render and archive harnesses write (and fsync) an overlay or a store
# transaction per input; on a tmpfs those syncs cost nothing, and what the
# harnesses check does not depend on the disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
fuzzer=$1 seeds=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/gen-fuzz-run.XXXXXX")
artifacts=${FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/"
if "$fuzzer" -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$work/corpus"; then
  rm -rf "$work"
else
  rc=$?
  echo "fuzzer failed (exit $rc); inputs kept in $artifacts" >&2
  ls -l "$artifacts" >&2
  exit "$rc"
fi
