# bench/lib.sh: what the bench scripts share; sourced, not run.  A script
# sets `bench` (its name, for messages) and `log` (where `run` writes)
# before it uses say/die/run.

say () { printf '%s\n' "$*" >&2; }
# die MESSAGE: the message and the log's last lines, then exit 1.
die () { say "$bench: $*"; say "  (last lines of $log:)"; tail -n 5 "$log" >&2 || true; exit 1; }
# run COMMAND…: COMMAND's output into the log; die if it fails.
run () { "$@" >>"$log" 2>&1 || die "failed: $*"; }

# rm_tree DIR…: removes each DIR that exists.  `ostree admin deploy` marks
# deployment roots immutable; that is cleared first.
rm_tree () {
  local d
  for d in "$@"; do
    [ -e "$d" ] || continue
    find "$d" -maxdepth 8 -type d -path '*/ostree/deploy/*/deploy/*' -prune \
      -exec chattr -i {} + 2>/dev/null || true
    rm -rf "$d"
  done
}

# bench_binaries GEN DIR: copies gen and the helpers beside it (gen-store,
# which gen runs for init, switch and diff; gen-watch, which
# `gen switch --watch` starts) into DIR, so that a rebuild during the run
# changes nothing.  Sets gen, and exports GEN_STORE_HELPER when there is a
# gen-store.
bench_binaries () {
  local h
  mkdir -p "$2"
  cp "$1" "$2/gen"
  gen=$2/gen
  unset GEN_STORE_HELPER
  for h in gen-store gen-watch; do
    if [ -x "$(dirname "$1")/$h" ]; then cp "$(dirname "$1")/$h" "$2/$h"; fi
  done
  if [ -x "$2/gen-store" ]; then export GEN_STORE_HELPER=$2/gen-store; fi
}

# median [FORMAT]: the median of the numbers on stdin (split by blanks and
# lines), printed with FORMAT (default %.0f); nothing when there are none.
median () {
  tr ' \t' '\n\n' | awk 'NF' | sort -n | awk -v f="${1:-%.0f}" '{v[NR] = $1}
    END { if (NR) printf f, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# spread: "min-max" of the numbers on stdin, to whole numbers.
spread () {
  tr ' \t' '\n\n' | awk 'NF' | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}'
}
# ratio A B [FORMAT]: A / B with FORMAT (default %.2f), "-" when B is not above 0.
ratio () { awk -v g="$1" -v m="$2" -v f="${3:-%.2f}" 'BEGIN { if (m > 0) printf f, g / m; else print "-" }'; }
