#!/bin/bash
# Releases composed from packages (release.packages): from a folder, from a
# flat repository and a dists/ layout over HTTP (a real server on
# 127.0.0.1), the download cache, gen diff and gen list on composed
# releases, unsatisfiable sets, hostile packages, checksum mismatches, dry
# runs, the same commit from two sysroots, and progress only on a terminal.
. "$TESTS_DIR/e2e/lib.sh"

plan 75

repo=$S/gen/repo
cache=$S/gen/cache/debs
must "$TESTS_DIR/compose-repo.sh" "$T/repo"
# The same packages over HTTP: flat at /flat, and as an archive with
# dists/stable/main/binary-amd64/Packages.gz and pool/ at /debian.
mkdir -p "$T/www/flat" "$T/www/debian/pool/main" "$T/www/debian/dists/stable/main/binary-amd64"
cp "$T"/repo/*.deb "$T/repo/Packages" "$T/www/flat/"
cp "$T"/repo/*.deb "$T/www/debian/pool/main/"
(cd "$T/www/debian" && dpkg-scanpackages -m pool /dev/null 2> /dev/null \
  | gzip -9n > dists/stable/main/binary-amd64/Packages.gz) || bail "indexing the dists/ layout"

python3 - "$T/www" "$T/port" "$T/http.log" <<'EOF' > /dev/null 2>&1 &
import functools, http.server, os, sys
root, port_file, log = sys.argv[1:4]
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-"):
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, code))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                         functools.partial(Handler, directory=root))
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
EOF
server=$!
trap 'kill $server 2> /dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || bail "the HTTP server did not start"
url=http://127.0.0.1:$(cat "$T/port")

# packages FILE VERSION INSTALL [REPOS [MORE]]: a manifest composing INSTALL.
packages () {
  manifest "$1" "{ \"packages\": { \"repos\": ${4:-[\"repo\"]}, \"install\": $3,
    \"architecture\": \"amd64\", \"version\": \"$2\"${5:+, $5} } }"
}
checksum_of () { jq_ "$S/gen/generations/$1/generation.json" 'd["release"]["checksum"]'; }
deploy_of () { echo "$S/gen/deploy/$(checksum_of "$1")"; }

must gen init --os demo

# --- from a folder ------------------------------------------------------------
# gen loads libsolvext (which reads the indexes) where the dynamic linker
# looks, never from the current folder: gen runs as root where the
# manifests are.  A bogus one here would break the switch.
printf 'not a library\n' > libsolvext.so.1
printf "dlname='libsolvext.so.1'\nlibdir='%s'\n" "$PWD" > libsolvext.so.1.la
packages m1.json 1.0 '["app (<< 2)", "gen-test-kernel"]'
expect_exit 0 gen switch m1.json
expect_stdout_contains "made generation 1: release 1.0"
expect_stdout_contains "packages:    3 (0 downloaded)"
expect_eq "$(wc -c < "$ERR")" 0 "no progress on stderr when it is not a terminal"
d1=$(deploy_of 1)
expect_file_equals "$d1/usr/bin/app" $'#!/bin/sh\n'
expect_eq "$(readlink "$d1/bin")" usr/bin "/bin is a link to usr/bin"
expect_file_equals "$d1/usr/lib/modules/6.1.0-compose/vmlinuz" $'not a real kernel\n'
expect_file_equals "$S/boot/$(jq_ "$S/gen/generations/1/generation.json" 'd["kernel"]["dir"]')/vmlinuz" \
  $'not a real kernel\n'
expect_eq "$(jq_ "$d1/usr/share/gen/packages.json" '[p["name"] + " " + p["version"] for p in d["packages"]]')" \
  '["app 1.0-1", "gen-test-kernel 6.1-1", "libfoo 2.3"]' "usr/share/gen/packages.json lists the packages"
expect_eq "$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["packages"]')" 3 \
  "generation.json: release.packages is 3"
run gen list --json
expect_eq "$(jq_ "$OUT" 'd["generations"][0]["release"]["packages"]')" 3 "gen list --json: 3 packages"

packages m2.json 2.0 '["app", "tools", "gen-test-kernel"]' '["repo"]' '"setuid": ["/usr/bin/sgid-tool"]'
expect_exit 0 gen switch m2.json
expect_stdout_contains "made generation 2: release 2.0"
expect_stdout_contains "packages:    7 (0 downloaded)"
expect_stdout_contains "scripts:     not run for 2 packages: app, postfix-lite"
expect_stdout_contains "setuid:      removed from 1 file (see release.packages.setuid):"
expect_stdout_contains "/usr/bin/suid-tool"
d2=$(deploy_of 2)
expect_eq "$(stat -c %a "$d2/usr/bin/suid-tool") $(stat -c %a "$d2/usr/bin/sgid-tool")" "755 2755" \
  "setuid removed, setgid kept where release.packages.setuid allows it"
expect_eq "$(stat -c '%u:%g' "$d2/usr/bin/app")" 0:0 "owned by root"
expect_eq "$(readlink "$d2/usr/lib/tools/to-share")" /usr/share/tools/data \
  "a link moved by the /usr merge still points at its file"
run gen diff --json
expect_eq "$(jq_ "$OUT" '[(c.get("name"), c.get("old"), c.get("new")) for c in d["packages"]["changed"]]')" \
  '[["app", "1.0-1", "2.1-1"]]' "gen diff: app changed from 1.0-1 to 2.1-1"
expect_eq "$(jq_ "$OUT" '[c["name"] for c in d["packages"]["added"]]')" \
  '["postfix-lite", "prelib", "shell-a", "tools"]' "gen diff: four packages added"
run gen diff
expect_stdout_contains "app"

# Unchanged: the commit made from the same packages is reused, nothing is unpacked.
expect_exit 0 gen switch m2.json
expect_stdout_contains "no changes: generation 2 already matches the manifest"

# The same manifest in another sysroot gives the same commit.
S_main=$S S=$T/other
mkdir -p "$S"
must gen init --os demo
expect_exit 0 gen switch m2.json
expect_eq "$(checksum_of 1)" "$(S=$S_main checksum_of 2)" "another sysroot composes the same commit"
S=$S_main

# --- failures: one error line, nothing written ---------------------------------
snapshot "$T/before"
packages m-unsat.json 9 '["app", "conflicting", "gen-test-kernel"]'
expect_exit 1 gen switch m-unsat.json
expect_error "m-unsat.json: release.packages: cannot install 'app', 'conflicting': package conflicting-1.0.all conflicts with app"
expect_unchanged "$T/before" "unsatisfiable: nothing written"

packages m-nokernel.json 9 '["prelib"]'
expect_exit 1 gen switch m-nokernel.json
expect_error "the release has no kernel"
expect_unchanged "$T/before" "no kernel: nothing written"

packages m-clash.json 9 '["app", "clash", "gen-test-kernel"]'
expect_exit 1 gen switch m-clash.json
expect_error "package clash 1.0 (all): '/usr/bin/app' is also in package app, with other content"
expect_unchanged "$T/before" "a file in two packages: nothing written"

mkdir -p hostile && cp "$T"/repo/gen-test-kernel_*.deb hostile/
must python3 "$TESTS_DIR/compose-hostile.py" hostile dotdot device
(cd hostile && dpkg-scanpackages -m . /dev/null > Packages 2> /dev/null)
packages m-dotdot.json 9 '["hostile-dotdot", "gen-test-kernel"]' '["hostile"]'
expect_exit 1 gen switch m-dotdot.json
expect_error "package hostile-dotdot 1.0 (all): member './../evil' climbs out with '..'"
packages m-device.json 9 '["hostile-device", "gen-test-kernel"]' '["hostile"]'
expect_exit 1 gen switch m-device.json
expect_error "package hostile-device 1.0 (all): member './dev/null' is a device node, FIFO or socket"
expect_unchanged "$T/before" "hostile packages: nothing written"
expect_true "nothing escaped" test ! -e "$T/evil" -a ! -e "$S/evil"

packages m-down.json 9 '["app"]' '["http://127.0.0.1:1/debian"]'
expect_exit 1 gen switch m-down.json
expect_error "m-down.json: release.packages.repos[0]: downloading 'http://127.0.0.1:1/debian/Packages.xz': "
expect_unchanged "$T/before" "unreachable repository: nothing written"

# --- over HTTP: the download cache ---------------------------------------------
: > "$T/http.log"
packages m3.json 3.0 '["app", "gen-test-kernel"]' "[\"$url/flat\"]"
expect_exit 0 gen switch m3.json
expect_stdout_contains "packages:    6 (6 downloaded)"
expect_eq "$(grep -c '^GET /flat/.*\.deb 200$' "$T/http.log")" 6 "six .debs downloaded"
expect_true "the index was found after Packages.xz and Packages.gz were not" \
  grep -q '^GET /flat/Packages.xz 404$' "$T/http.log"
expect_eq "$(ls "$cache" | wc -l)" 6 "six files in gen/cache/debs"
expect_true "each cached file is named by its SHA-256" \
  sh -c "cd '$cache' && for f in *.deb; do echo \"\${f%.deb}  \$f\"; done | sha256sum -c --quiet"
expect_true "the cached app is the repository's" \
  cmp -s "$cache/$(sha256sum "$T/repo/app_2.1-1_all.deb" | cut -d' ' -f1).deb" "$T/repo/app_2.1-1_all.deb"

# Another version: composed again (not reused), from the cache.
: > "$T/http.log"
packages m4.json 3.1 '["app", "gen-test-kernel"]' "[\"$url/flat\"]"
expect_exit 0 gen switch m4.json
expect_stdout_contains "made generation 4: release 3.1"
expect_stdout_contains "packages:    6 (0 downloaded)"
expect_eq "$(grep -c '\.deb' "$T/http.log")" 0 "a second compose fetches no package"

# A dists/ layout: dists/stable/main/binary-amd64/Packages.gz, files in pool/.
: > "$T/http.log"
packages m5.json 4.0 '["revalt", "gen-test-kernel"]' \
  "[{ \"url\": \"$url/debian/\", \"suite\": \"stable\", \"components\": [\"main\"] }]"
snapshot "$T/before-dry"
expect_exit 0 gen switch --dry-run m5.json
expect_stdout_contains "packages:    3 (2 downloaded, not kept)"
expect_unchanged "$T/before-dry" "a dry run keeps no download"
expect_exit 0 gen switch m5.json
expect_stdout_contains "packages:    3 (2 downloaded)"
expect_true "the index came from dists/stable/main/binary-amd64/Packages.gz" \
  grep -q '^GET /debian/dists/stable/main/binary-amd64/Packages.gz 200$' "$T/http.log"
expect_true "shell-b came from pool/main/" grep -q '^GET /debian/pool/main/shell-b_1.0_all.deb 200$' "$T/http.log"
expect_true "revalt takes the first alternative, shell-b" test -f "$(deploy_of 5)/usr/bin/sh-b"

# A download that does not match the index is refused and not cached.
must "$TESTS_DIR/compose-mkdeb.sh" "$T/evil" picky 1.0 -p usr/share/evil
cp "$T/evil/picky_1.0_all.deb" "$T/www/flat/picky_1.0_all.deb"
snapshot "$T/before"
packages m6.json 5.0 '["picky", "gen-test-kernel"]' "[\"$url/flat\"]"
expect_exit 1 gen switch m6.json
expect_error "package picky 1.0 (all): '$url/flat/picky_1.0_all.deb' does not match the index's SHA256 (index $(sha256sum "$T/repo/picky_1.0_all.deb" | cut -d' ' -f1), download $(sha256sum "$T/evil/picky_1.0_all.deb" | cut -d' ' -f1))"
expect_unchanged "$T/before" "checksum mismatch: nothing written, nothing cached"

# A damaged cached file is fetched again.
app_sha=$(sha256sum "$T/repo/app_2.1-1_all.deb" | cut -d' ' -f1)
printf 'damaged' > "$cache/$app_sha.deb"
: > "$T/http.log"
packages m7.json 6.0 '["app", "gen-test-kernel"]' "[\"$url/flat\"]"
expect_exit 0 gen switch m7.json
expect_stdout_contains "packages:    6 (1 downloaded)"
expect_true "the damaged file was replaced" cmp -s "$cache/$app_sha.deb" "$T/repo/app_2.1-1_all.deb"

# --- progress, on a terminal only -------------------------------------------------
packages m8.json 7.0 '["app", "gen-test-kernel"]' "[\"$url/flat\"]"
run script -qec "$GEN --sysroot $S switch m8.json" /dev/null
expect_eq "$RC" 0 "switch on a terminal (script)"
expect_stdout_contains "reading package indexes"
expect_stdout_contains "fetching packages"
expect_stdout_contains "unpacking packages"

expect_exit 0 ostree --repo="$repo" fsck
finish
