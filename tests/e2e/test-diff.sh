#!/bin/bash
# gen diff end to end: two releases that differ in known ways, every section
# checked exactly, human and JSON.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
check () { # check DESCRIPTION COMMAND...
  local what=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}
same () { # same EXPECTED-FILE ACTUAL-FILE: exact content, the difference shown on failure
  diff -u "$1" "$2" >&2
}
json () { python3 -c "import json,sys; d=json.load(open('$tmp/diff.json')); print($1)"; }
echo "1..23"

cd "$tmp"
"$TESTS_DIR/make-release.sh" r1 1.0 10
"$TESTS_DIR/make-release.sh" r2 2.0 12          # adds folders d10, d11 with file-10, file-11
printf 'changed\n' > r2/usr/share/demo/data/d3/file-3   # modified, smaller
rm r2/usr/share/demo/README                        # removed
mkdir -p r1/var/lib/dpkg r2/var/lib/dpkg
cat > r1/var/lib/dpkg/status <<'EOT'
Package: libfoo
Status: install ok installed
Version: 1.0-1
Architecture: amd64

Package: bar
Status: install ok installed
Version: 2.0
Architecture: all

Package: old
Status: install ok installed
Version: 0.9
Architecture: all
EOT
cat > r2/var/lib/dpkg/status <<'EOT'
Package: libfoo
Status: install ok installed
Version: 1.0-2
Architecture: amd64

Package: bar
Status: install ok installed
Version: 2.0~rc1
Architecture: all

Package: new
Status: install ok installed
Version: 3
Architecture: all
EOT
mkdir templates
printf 'port={{port}}\nname={{name}}\n' > templates/app.conf.in
manifest () { # manifest FILE RELEASE PORT ARGS EXTRA-FILES
  cat > "$1" <<EOT
{ "os": "demo", "release": { "dir": "$2" }, "kernel": { "args": [$4] },
  "config": { "vars": { "port": $3, "name": "edge" },
    "files": { "/etc/app.conf": { "template": "templates/app.conf.in" },
               "/etc/localtime": { "symlink": "/usr/share/zoneinfo/UTC" } $5 } } }
EOT
}
manifest m1.json r1 8080 '"quiet"' ''
manifest m2.json r2 9090 '"quiet", "panic=10"' ', "/etc/motd": { "content": "hello\n", "mode": "0600" }'
mkdir sys
"$GEN" --sysroot sys init --os demo >/dev/null
"$GEN" --sysroot sys switch m1.json >/dev/null
"$GEN" --sysroot sys switch m2.json >/dev/null

NO_COLOR=1 "$GEN" --sysroot sys diff > out 2> err
check "gen diff exits 0" test $? -eq 0 -a ! -s err
sed -n '/^packages:/,/^$/p' out > packages
cat > expected <<'EOT'
packages: 1 upgraded, 1 downgraded, 1 added, 1 removed
  [D.] bar                            2.0 → 2.0~rc1
  [U.] libfoo                         1.0-1 → 1.0-2
  [A+] new                            3
  [R-] old                            0.9

EOT
check "packages: nvd markers, Debian version order, sorted by name" same expected packages
sed -n '/^config:/,/^$/p' out > config
cat > expected <<'EOT'
config: 1 added, 0 removed, 1 changed
  ~ /etc/app.conf
      --- a/etc/app.conf
      +++ b/etc/app.conf
      @@ -1,2 +1,2 @@
      -port=8080
      +port=9090
       name=edge
  + /etc/motd
      --- /dev/null
      +++ b/etc/motd
      @@ -0,0 +1 @@
      +hello

EOT
check "config: unified diffs for a changed value and an added file" same expected config
sed -n '/^files:/,/^$/p' out > files
cat > expected <<'EOT'
files: 4 added, 1 removed, 4 modified
  A /usr/share/demo/data/d10/file-10 (29 bytes)
  A /usr/share/demo/data/d11/file-11 (29 bytes)
  M /usr/share/demo/data/d3/file-3 (28 bytes → 8 bytes)
  D /usr/share/demo/README (12 bytes)
  M /var/lib/dpkg/status (228 bytes → 230 bytes)
  M /usr/bin/demo-app (30 bytes → 30 bytes)
  M /usr/lib/os-release (72 bytes → 72 bytes)
  A /usr/share/demo/data/d10 (0 bytes)
  A /usr/share/demo/data/d11 (0 bytes)

EOT
check "files: counts and paths, largest change first" same expected files
sed -n '/^kernel:/,/^$/p' out > kernel
printf 'kernel: 6.1.0-gen-demo (unchanged)\n  args: quiet → quiet panic=10\n\n' > expected
check "kernel: version and arguments before and after" same expected kernel
check "size: both releases and what the new one adds" \
  grep -Eqx 'size: [0-9]+ bytes → [0-9]+ bytes; generation 2.s release adds 398 bytes to the store' out
check "no colour when piped" bash -c "! grep -q $'\e' out"

"$GEN" --sysroot sys diff --json > diff.json
check "--json parses, from 1 to 2" test "$(json "d['from'], d['to'], d['equal']")" = "1 2 False"
check "--json packages" test "$(json "[(p['name'], p['old'], p['new'], p['direction']) for p in d['packages']['changed']], [p['name'] for p in d['packages']['added']], [p['name'] for p in d['packages']['removed']]")" \
  = "[('bar', '2.0', '2.0~rc1', 'downgraded'), ('libfoo', '1.0-1', '1.0-2', 'upgraded')] ['new'] ['old']"
check "--json config" test "$(json "[(c['path'], c['change'], c['old_mode'], c['new_mode']) for c in d['config']['changed']]")" \
  = "[('/etc/app.conf', 'modified', '0644', '0644'), ('/etc/motd', 'added', None, '0600')]"
check "--json config diff text" test "$(json "d['config']['changed'][0]['diff']")" \
  = "$(printf -- '--- a/etc/app.conf\n+++ b/etc/app.conf\n@@ -1,2 +1,2 @@\n-port=8080\n+port=9090\n name=edge\n')"
check "--json files" test "$(json "d['files']['counts'], d['files']['removed'], sorted(d['files']['added'])")" \
  = "{'added': 4, 'removed': 1, 'modified': 4} ['/usr/share/demo/README'] ['/usr/share/demo/data/d10', '/usr/share/demo/data/d10/file-10', '/usr/share/demo/data/d11', '/usr/share/demo/data/d11/file-11']"
check "--json kernel" test "$(json "d['kernel']")" \
  = "{'before': {'version': '6.1.0-gen-demo', 'args': ['quiet']}, 'after': {'version': '6.1.0-gen-demo', 'args': ['quiet', 'panic=10']}}"
check "--json size" test "$(json "d['size']['before'] > 0, d['size']['after'] > 0, d['size']['added']")" = "True True 398"

NO_COLOR=1 "$GEN" --sysroot sys diff --stat > stat
check "--stat prints counts only" test "$(grep -c '^  ' stat)" -eq 1   # only the kernel args line
"$GEN" --sysroot sys diff 2 1 --json > diff.json
check "diff B A reverses the direction" test "$(json "[p['direction'] for p in d['packages']['changed']]")" = "['upgraded', 'downgraded']"
"$GEN" --sysroot sys diff 2 2 > out
check "equal generations: no differences, exit 0" test $? -eq 0 -a "$(tail -1 out)" = "no differences"
"$GEN" --sysroot sys diff 1 7 > out 2> err
check "unknown generation: one clear error, non-zero" test $? -ne 0 -a "$(cat err)" = "error: generation 7 does not exist"
"$GEN" --sysroot sys diff x > out 2> err
check "a non-number is refused" test $? -ne 0 -a "$(cat err)" = "error: 'x' is not a generation number"

# A release with no package data on one side.
"$TESTS_DIR/make-release.sh" r3 3.0 10
manifest m3.json r3 9090 '"quiet", "panic=10"' ', "/etc/motd": { "content": "hello\n", "mode": "0600" }'
"$GEN" --sysroot sys switch m3.json >/dev/null
NO_COLOR=1 "$GEN" --sysroot sys diff > out
check "no package data is said" grep -qx 'packages: no package data' out
check "a config-only generation shows no file changes" \
  bash -c "'$GEN' --sysroot sys rollback --to 3 >/dev/null && sed -i 's/9090/9091/' m3.json && '$GEN' --sysroot sys switch m3.json >/dev/null && NO_COLOR=1 '$GEN' --sysroot sys diff | grep -qx 'files: 0 added, 0 removed, 0 modified'"
# switch --dry-run shows the same diff gen diff shows once the switch is made.
"$TESTS_DIR/make-release.sh" r5 5.0 10
printf 'x\n' > r5/usr/share/demo/NEW
manifest m5.json r5 7070 '"quiet"' ''
find sys -printf '%p %s %i\n' | sort > before
NO_COLOR=1 "$GEN" --sysroot sys switch --dry-run m5.json > dry
find sys -printf '%p %s %i\n' | sort > after
check "a dry run writes nothing" cmp -s before after
"$GEN" --sysroot sys switch m5.json > /dev/null
NO_COLOR=1 "$GEN" --sysroot sys diff > real
sed -n '/^generation [0-9]* → generation/,/^size:/p' dry > dry-diff
check "switch --dry-run shows the diff that gen diff shows after the switch" same real dry-diff
[ "$n" -eq 23 ] || echo "Bail out! planned 23, ran $n"
