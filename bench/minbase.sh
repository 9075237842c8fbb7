# bench/minbase.sh: sourced by bench/run and bench/compose.
#
# minbase_debs WORKDIR LOG: makes sure the .debs that
# `debootstrap --variant=minbase` installs are in the cache, and sets
# MINBASE_DEBS (the folder) and MINBASE_LIST (the package names, one line).
# The list comes from `debootstrap --print-debs` against $GEN_BENCH_MIRROR
# (default http://deb.debian.org/debian), suite $GEN_BENCH_SUITE (default
# bookworm); the packages from `apt-get download`, i.e. from this machine's
# apt sources.  Both are fetched once into
# ${GEN_BENCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/gen-bench}, never into the
# source tree; remove that folder to fetch again.
minbase_debs () {
  local work=$1 log=$2 cache suite mirror
  cache=${GEN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gen-bench}
  suite=${GEN_BENCH_SUITE:-bookworm}
  mirror=${GEN_BENCH_MIRROR:-http://deb.debian.org/debian}
  MINBASE_DEBS=$cache/debs-minbase-$suite
  if [ ! -f "$MINBASE_DEBS/.complete" ]; then
    local tool
    for tool in debootstrap apt-get dpkg-deb; do
      command -v "$tool" >/dev/null || {
        echo "minbase: '$tool' is missing (apt-get install debootstrap apt dpkg)" >&2
        return 1
      }
    done
    mkdir -p "$MINBASE_DEBS"
    echo "minbase: fetching the $suite minbase package list and .debs into $MINBASE_DEBS…" >&2
    debootstrap --print-debs --variant=minbase "$suite" "$work/print-debs" "$mirror" \
      > "$MINBASE_DEBS/list.tmp" 2>>"$log" || {
      echo "minbase: debootstrap --print-debs failed (see $log)" >&2
      return 1
    }
    rm -rf "$work/print-debs"
    tr ' ' '\n' < "$MINBASE_DEBS/list.tmp" | awk NF | sort > "$MINBASE_DEBS/list"
    rm -f "$MINBASE_DEBS/list.tmp"
    # shellcheck disable=SC2046
    (cd "$MINBASE_DEBS" && apt-get download $(cat list)) >>"$log" 2>&1 || {
      echo "minbase: apt-get download failed (see $log)" >&2
      return 1
    }
    touch "$MINBASE_DEBS/.complete"
  fi
  MINBASE_LIST=$(tr '\n' ' ' < "$MINBASE_DEBS/list")
}
