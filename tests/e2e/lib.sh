# lib.sh: shared helpers for the end-to-end tests, sourced by each
# tests/e2e/test-*.sh.  Each test runs the real gen binary ($GEN) on a
# sysroot in a temporary folder and prints TAP.
#
#   plan N                      print the plan
#   ok DESC / not_ok DESC       one test result
#   expect_exit CODE CMD…       run CMD (stdout, stderr and $RC kept), check its exit code
#   expect_stdout_contains TEXT / expect_stderr_contains TEXT    about the last CMD
#   expect_error TEXT           the last CMD printed exactly one line, "error: …TEXT…"
#   expect_file_contains FILE TEXT / expect_file_equals FILE TEXT
#   expect_eq ACTUAL EXPECTED DESC / expect_true DESC CMD…
#   snapshot FILE / expect_unchanged FILE DESC    a listing of the whole sysroot
#   make_release DIR VERSION [FILES]              a release tree (tests/make-release.sh)
#   manifest FILE RELEASE [CONFIG [ARGS]]         a manifest for os $OS
#   jq_ FILE EXPR               a value from a JSON file (python3; EXPR uses d)
#   gen ARGS…                   "$GEN" --sysroot "$S" ARGS…
set -u
: "${GEN:?GEN must name the gen binary}" "${TESTS_DIR:?TESTS_DIR must name tests/}"
export LC_ALL=C NO_COLOR=1
unset GIT_DIR GIT_WORK_TREE

T=$(mktemp -d "${TMPDIR:-/tmp}/gen-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 143' HUP INT TERM   # a timeout's SIGTERM still runs the EXIT trap
cd "$T" || exit 1
S=$T/sysroot   # the sysroot most tests use
OS=demo
OUT=$T/.stdout ERR=$T/.stderr RC=0
mkdir -p "$S"

_count=0 _failed=0

_planned=
plan () { _planned=$1; echo "1..$1"; }

ok () { _count=$((_count + 1)); echo "ok $_count - $*"; }

not_ok () {
  _count=$((_count + 1)) _failed=$((_failed + 1))
  echo "not ok $_count - $*"
}

# A diagnostic: each line of stdin, or of the arguments, as a TAP comment.
diag () {
  if [ $# -gt 0 ]; then printf '%s\n' "$*"; else cat; fi | sed -e "s|$T|\$T|g" -e 's/^/# /'
}

# Stops the whole test: a step every later test depends on failed.
bail () { echo "Bail out! $*"; exit 1; }

# Runs a setup step that must succeed.
must () { "$@" > "$T/.must.out" 2>&1 || { diag < "$T/.must.out"; bail "setup failed: $*"; }; }

gen () { "$GEN" --sysroot "$S" "$@"; }

# Runs CMD with stdout in $OUT, stderr in $ERR and the exit code in $RC.
run () { "$@" > "$OUT" 2> "$ERR"; RC=$?; }

_show_run () { diag "exit $RC"; diag < "$OUT"; diag < "$ERR"; }

# A command line as a test description: "gen switch m.json".
_describe () {
  printf '%s' "$*" | sed -e "s|$GEN --sysroot $S |gen |" -e "s|$GEN|gen|" -e "s|$T/\{0,1\}||g" \
    -e 's/#/%23/g'
}

expect_exit () {
  local code=$1; shift
  run "$@"
  if [ "$RC" -eq "$code" ]; then
    ok "exit $code: $(_describe "$@")"
  else
    not_ok "exit $code: $(_describe "$@")"
    _show_run
  fi
}

_contains () { # FILE TEXT DESC
  if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3"; diag < "$1"; fi
}

expect_stdout_contains () { _contains "$OUT" "$1" "stdout has '$(_describe "$1")'"; }
expect_stderr_contains () { _contains "$ERR" "$1" "stderr has '$(_describe "$1")'"; }

# The last command failed with exactly one stderr line, "error: …" holding TEXT.
expect_error () {
  local lines first
  lines=$(wc -l < "$ERR")
  first=$(head -n 1 "$ERR")
  if [ "$RC" -ne 0 ] && [ "$lines" -eq 1 ] && [ "${first#error: }" != "$first" ] \
    && grep -qF -- "$1" "$ERR"; then
    ok "one error line with '$(_describe "$1")'"
  else
    not_ok "one error line with '$(_describe "$1")'"
    _show_run
  fi
}

expect_file_contains () {
  if [ -f "$1" ]; then
    _contains "$1" "$2" "$(_describe "$1") has '$(_describe "$2")'"
  else
    not_ok "$(_describe "$1") has '$2'"; diag "no such file"
  fi
}

# FILE holds exactly TEXT (printf %s: give the final newline).
expect_file_equals () {
  local desc
  desc="$(_describe "$1") is $(printf '%q' "$2")"
  if [ -f "$1" ] && [ "$(cat "$1"; echo .)" = "$2." ]; then
    ok "$desc"
  else
    not_ok "$desc"; [ -f "$1" ] && diag < "$1"
  fi
}

expect_eq () {
  if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "got:      '$1'"; diag "expected: '$2'"; fi
}

expect_true () {
  local desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# A listing of the whole sysroot: paths, sizes and inodes.
snapshot () { find "$S" -printf '%p %s %i %m\n' | sort > "$1"; }

expect_unchanged () {
  snapshot "$T/.snapshot.now"
  if cmp -s "$1" "$T/.snapshot.now"; then
    ok "$2"
  else
    not_ok "$2"; diff "$1" "$T/.snapshot.now" | head -n 20 | diag
  fi
}

make_release () { must "$TESTS_DIR/make-release.sh" "$@"; }

# manifest FILE RELEASE_JSON [CONFIG_JSON [ARGS_JSON]]: a manifest for $OS.
manifest () {
  local config=${3:-} args=${4:-}
  [ -n "$config" ] || config='{}'
  [ -n "$args" ] || args='["console=ttyS0", "quiet"]'
  cat > "$1" <<EOF
{
  "os": "$OS",
  "release": $2,
  "kernel": { "args": $args },
  "config": $config
}
EOF
}

# jq_ FILE EXPR: prints EXPR evaluated over the JSON in FILE (as d); strings
# as they are, anything else as JSON.
jq_ () {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# strace_ ARGS…: strace ARGS…, with LeakSanitizer off: it cannot run under
# ptrace (build-asan), and leaks are the untraced runs' business.
strace_ () {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"
}

# day N: the date (YYYY-MM-DD) generation N records, as boot menus show it;
# not today's, which may have changed since the generation was made.
day () {
  jq_ "$S/gen/generations/$1/generation.json" 'd["date"][:10]'
}

# Ends the test: exit 0 when everything passed.
finish () {
  [ "$_count" -eq "${_planned:-$_count}" ] || { echo "Bail out! planned $_planned, ran $_count"; exit 1; }
  [ "$_failed" -eq 0 ] || { diag "$_failed of $_count failed"; exit 1; }
  exit 0
}
