#!/bin/bash
# release.ref "REMOTE:REF": gen pulls the release from an ostree remote (a
# real HTTP server on 127.0.0.1 serving an archive repo made with the ostree
# CLI), verifies its GPG signature against the keys the manifest names, and
# makes a generation from it; a moved remote ref makes a new generation, an
# unsigned or wrongly signed commit, a server that is down or an unknown
# remote change nothing.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

for tool in ostree gpg python3; do
  command -v $tool > /dev/null || { echo "1..0 # SKIP needs $tool"; exit 0; }
done

# --- the server side: a signed archive repo behind python's http.server ------
export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
newkey () { # NAME: a signing key; prints its fingerprint
  gpg --batch --passphrase '' --quick-gen-key "$1 <$1@gen.test>" ed25519 sign never 2> /dev/null
  gpg --with-colons --list-keys "$1@gen.test" | awk -F: '/^fpr/ { print $10; exit }'
}
key=$(newkey release)
other=$(newkey other)
[ -n "$key" ] && [ -n "$other" ] || bail "gpg could not make keys"
mkdir keys
gpg --export "$key" > keys/release.gpg
gpg --armor --export "$other" > keys/other.asc
: > keys/empty.gpg

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
make_release rel/1.1 1.1
srv=$T/www/repo
mkdir -p "$T/www"
must ostree --repo="$srv" init --mode=archive
publish () { # TREE [SIGN-KEY]: commits TREE as demo/stable on the server
  ostree --repo="$srv" commit -b demo/stable --tree=dir="$1" -s "release $1" \
    ${2:+--gpg-sign="$2" --gpg-homedir="$GNUPGHOME"} > /dev/null
}
must publish rel/1.0 "$key"

python3 -c '
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f: f.write(str(server.server_port))
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()' "$T/www" "$T/port" &
server=$!
trap 'kill $server 2> /dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || bail "the HTTP server did not start"
url=http://127.0.0.1:$(cat "$T/port")/repo

remote_manifest () { # FILE REF HOSTNAME REMOTE-JSON
  cat > "$1" <<EOF
{
  "os": "demo",
  "release": { "ref": "$2" },
  "kernel": { "args": ["console=ttyS0"] },
  "config": { "files": { "/etc/hostname": { "content": "$3\n" } } },
  "remotes": { "origin": $4 }
}
EOF
}
signed='{ "url": "'$url'", "gpg-keys": "keys/release.gpg" }'
remote_manifest m1.json origin:demo/stable one "$signed"
remote_manifest m2.json origin:demo/stable two "$signed"
state () { jq_ "$S/gen/state.json" '"%d %d %d" % (d["current"], d["default"], d["last"])'; }
record_release () { jq_ "$S/gen/generations/$1/generation.json" 'd["release"]["checksum"]'; }
served () { ostree --repo="$srv" rev-parse demo/stable; }

plan 47
must gen init --os demo

# --- a dry run does not pull ---------------------------------------------------
expect_exit 1 gen switch --dry-run m1.json
expect_error "release.ref: 'origin:demo/stable' has not been pulled yet (a dry run does not pull)"
expect_true "the failed dry run made no generation" test ! -e "$S/gen/generations/1"

# --- pull, verify, switch --------------------------------------------------------
expect_exit 0 gen switch m1.json
expect_stdout_contains "made generation 1: release 1.0"
expect_eq "$(record_release 1)" "$(served)" "generation 1's release is the commit the server has"
expect_eq "$(ostree --repo="$S/gen/repo" rev-parse origin:demo/stable)" "$(served)" \
  "the store holds the remote ref origin:demo/stable"
expect_file_contains "$S/gen/repo/config" "$url"
expect_true "the remote's key is in the store's keyring" test -s "$S/gen/repo/origin.trustedkeys.gpg"
expect_file_contains "$S/boot/loader/entries/demo-1.conf" "release 1.0"

# Nothing moved on the server: nothing new; a config change is a new generation.
expect_exit 0 gen switch m1.json
expect_eq "$(state)" "1 1 1" "the same manifest and the same remote commit make no generation"
expect_exit 0 gen switch m2.json
expect_eq "$(state)" "2 2 2" "a config change on the pulled release is generation 2"

# --- the remote moves: the same manifest pulls the new release --------------------
must publish rel/2.0 "$key"
expect_exit 0 gen switch m2.json
expect_stdout_contains "made generation 3: release 2.0"
expect_eq "$(record_release 3)" "$(served)" "generation 3 is the server's new commit"
expect_file_contains "$S/boot/loader/entries/demo-3.conf" "6.2.0-gen-demo"
expect_exit 0 gen diff 2 3
expect_stdout_contains "6.2.0-gen-demo"

# --- refused: nothing changes ---------------------------------------------------
must publish rel/1.1
expect_exit 1 gen switch m1.json
expect_stderr_contains "error: pulling 'origin:demo/stable' from $url: "
expect_stderr_contains "GPG"
expect_eq "$(state)" "3 3 3" "an unsigned commit is refused: generation 3 stays"
expect_eq "$(ostree --repo="$S/gen/repo" rev-parse origin:demo/stable)" "$(record_release 3)" \
  "the store's remote ref did not move to the unsigned commit"

must publish rel/1.1 "$other"
expect_exit 1 gen switch m1.json
expect_stderr_contains "public key not found"
expect_eq "$(state)" "3 3 3" "a commit signed by a key the manifest does not trust is refused"

remote_manifest m-other.json origin:demo/stable other '{ "url": "'$url'", "gpg-keys": "keys/other.asc" }'
must publish rel/2.0 "$key"
expect_exit 1 gen switch m-other.json
expect_eq "$(state)" "3 3 3" "with only the other key trusted, the release key's commit is refused"

remote_manifest m-empty.json origin:demo/stable e '{ "url": "'$url'", "gpg-keys": "keys/empty.gpg" }'
expect_exit 1 gen switch m-empty.json
expect_stderr_contains "error: remotes.origin.gpg-keys: '"
expect_stderr_contains "keys/empty.gpg': "

remote_manifest m-down.json origin:demo/stable down '{ "url": "http://127.0.0.1:1/repo", "gpg-verify": false }'
expect_exit 1 gen switch m-down.json
expect_stderr_contains "error: pulling 'origin:demo/stable' from http://127.0.0.1:1/repo: "
expect_eq "$(state)" "3 3 3" "a server that is down changes nothing"

remote_manifest m-nowhere.json nowhere:demo/stable x "$signed"
expect_exit 1 gen switch m-nowhere.json
expect_error "release.ref: remote 'nowhere' is neither in the manifest's 'remotes' nor configured in the store"

# --- unsigned on purpose, and a remote the operator configured -------------------
remote_manifest m-unsigned.json origin:demo/stable u '{ "url": "'$url'", "gpg-verify": false }'
must publish rel/1.1
expect_exit 0 gen switch m-unsigned.json
expect_stdout_contains "made generation 4: release 1.1"

must ostree --repo="$S/gen/repo" remote add --no-gpg-verify ops "$url"
cat > m-ops.json <<EOF
{ "os": "demo", "release": { "ref": "ops:demo/stable" }, "kernel": { "args": ["quiet"] } }
EOF
expect_exit 0 gen switch m-ops.json
expect_stdout_contains "made generation 5: release 1.1"

# --- manifest errors ---------------------------------------------------------------
remote_manifest m-bad.json origin:demo/stable x '{ "url": "'$url'" }'
expect_exit 1 gen switch m-bad.json
expect_error "remotes.origin.gpg-keys: missing: give the keyring that signs this remote's commits"
remote_manifest m-bad.json origin:demo/stable x '{ "url": "ftp://example.com/repo", "gpg-verify": false }'
expect_exit 1 gen switch m-bad.json
expect_error "remotes.origin.url: 'ftp://example.com/repo': a remote is an http:// or https:// URL or a folder"

expect_true "ostree fsck passes on the store" sh -c "ostree fsck --repo='$S/gen/repo' > /dev/null"
finish
