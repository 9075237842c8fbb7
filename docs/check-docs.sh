#!/bin/bash
# check-docs.sh [DOCS_DIR]: checks that the docs still match the gen binary.
#
#   GEN=build/cli/gen docs/check-docs.sh docs
#
# For every command in the `gen --help` table: docs/gen-NAME.1 exists, is
# installed by docs/meson.build and listed in gen(1), and the bash
# completion offers the command.  For every long option that `gen --help`
# and `gen NAME --help` show: the page (gen.1 for the global ones) mentions
# it and the completion offers it.  Every man page in DOCS_DIR renders
# without groff warnings.  Prints TAP; exits non-zero when a check fails.
set -u
: "${GEN:?GEN must name the gen binary}"
docs=${1:-$(dirname "$0")}
completion=$docs/gen.bash-completion
export LC_ALL=C NO_COLOR=1

results=()
failed=0
check () { # check DESC CMD...: one TAP result
  local desc=$1
  shift
  if "$@" >/dev/null 2>&1; then
    results+=("ok - $desc")
  else
    results+=("not ok - $desc")
    failed=$((failed + 1))
  fi
}
skip () { results+=("ok - $1 # SKIP $2"); }

# A man page rendered as plain text on very long lines, so that no option is
# split by hyphenation or line breaks.
rendered () {
  groff -man -Tascii -rLL=5000n -P-cbou "$1" 2>/dev/null
}

# The long option $2 appears, as a whole word, in the rendered page $1.
page_mentions () {
  rendered "$1" | grep -qE -- "(^|[^[:alnum:]-])$2([^[:alnum:]-]|$)"
}

# groff prints nothing on stderr for page $1 with all warnings on.
renders_cleanly () {
  [ -z "$(groff -man -ww -z "$1" 2>&1)" ]
}

# What the completion offers for the words "$@" (the last one is completed).
complete_words () {
  bash -c '
    source "$1" || exit 1
    shift
    fn=$(complete -p gen 2>/dev/null | sed -n "s/.*-F \([^ ]*\).*/\1/p")
    [ -n "$fn" ] || exit 1
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" gen "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"
  ' check-docs "$completion" "$@"
}

# The completion offers $1 for the words that follow.
offers () {
  local want=$1
  shift
  complete_words "$@" | grep -qxF -- "$want"
}

# Long options in the option column of a --help text (stdin).
long_options () {
  sed -n 's/^ \{1,\}\(-[[:alnum:]], \)\{0,1\}\(--[[:alnum:]][[:alnum:]-]*\).*/\2/p' | sort -u
}

have_groff=true
command -v groff >/dev/null 2>&1 || have_groff=false

help=$("$GEN" --help) || { echo "Bail out! '$GEN --help' failed"; exit 1; }
commands=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "Bail out! no commands in '$GEN --help'"; exit 1; }

# Global options, in gen(1) and offered before a command.
for opt in $(printf '%s\n' "$help" | sed -n '/^Global options:/,/^$/p' | long_options); do
  if $have_groff; then
    check "gen.1 mentions $opt" page_mentions "$docs/gen.1" "$opt"
  else
    skip "gen.1 mentions $opt" "groff is not installed"
  fi
  check "the completion offers $opt before a command" offers "$opt" gen --
done

for cmd in $commands; do
  page=$docs/gen-$cmd.1
  check "$cmd: docs/gen-$cmd.1 exists" test -f "$page"
  check "$cmd: docs/meson.build installs gen-$cmd.1" grep -qF "'gen-$cmd.1'" "$docs/meson.build"
  if $have_groff; then
    check "$cmd: gen.1 lists gen-$cmd(1)" page_mentions "$docs/gen.1" "gen-$cmd\\(1\\)"
  else
    skip "$cmd: gen.1 lists gen-$cmd(1)" "groff is not installed"
  fi
  check "$cmd: the completion offers it" offers "$cmd" gen ""
  cmd_help=$("$GEN" "$cmd" --help 2>&1)
  options=$(printf '%s\n' "$cmd_help" | long_options)
  check "$cmd: '$cmd --help' shows options" test -n "$options"
  for opt in $options; do
    if $have_groff && [ -f "$page" ]; then
      check "$cmd: gen-$cmd.1 mentions $opt" page_mentions "$page" "$opt"
    elif ! $have_groff; then
      skip "$cmd: gen-$cmd.1 mentions $opt" "groff is not installed"
    else
      check "$cmd: gen-$cmd.1 mentions $opt" false
    fi
    check "$cmd: the completion offers $opt" offers "$opt" gen "$cmd" --
  done
done

# Every page renders without warnings.
for page in "$docs"/*.[1-9]; do
  [ -e "$page" ] || continue
  name=$(basename "$page")
  if $have_groff; then
    check "$name renders without groff warnings" renders_cleanly "$page"
  else
    skip "$name renders without groff warnings" "groff is not installed"
  fi
done

echo "1..${#results[@]}"
n=0
for r in "${results[@]}"; do
  n=$((n + 1))
  case $r in
  "not ok - "*) echo "not ok $n - ${r#not ok - }" ;;
  *) echo "ok $n - ${r#ok - }" ;;
  esac
done
[ "$failed" -eq 0 ]
