#!/bin/bash
# Bad manifests: each gives exactly one "error: …" line naming the key or
# path, a non-zero exit, and leaves the sysroot (store included) as it was.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 201

make_release rel 1.0
mkdir -p m/templates m/files
printf 'port={{port}}\n' > m/templates/ok.in
printf 'port={{nope}}\n' > m/templates/undefined.in
printf 'port={{port\n' > m/templates/unclosed.in
printf 'secret\n' > outside.in
ln -s ../../outside.in m/templates/link-out.in
ln -s /etc/passwd m/files/abs-link

must gen init --os demo
manifest m/good.json '{ "dir": "../rel" }' '{ "vars": { "port": 80 },
  "files": { "/etc/a": { "template": "templates/ok.in" } } }'
must gen switch m/good.json
snapshot "$T/before"

# bad NAME ERROR_TEXT [TEXT]: the manifest m/NAME.json (with TEXT, when
# given) is refused with one error line holding ERROR_TEXT; nothing changes.
bad () {
  [ $# -lt 3 ] || printf '%s\n' "$3" > "m/$1.json"
  expect_exit 1 gen switch "m/$1.json"
  expect_error "$2"
  expect_unchanged "$T/before" "$1: the sysroot is unchanged"
}
# A manifest with the release and config given.
with () { # RELEASE_JSON CONFIG_JSON [ARGS_JSON]
  printf '{ "os": "demo", "release": %s, "kernel": { "args": %s }, "config": %s }\n' \
    "$1" "${3:-[]}" "$2"
}
with_file () { # ENTRY_JSON for /etc/a
  with '{ "dir": "../rel" }' "{ \"vars\": { \"port\": 80 }, \"files\": { \"/etc/a\": $1 } }"
}
with_target () { # TARGET
  with '{ "dir": "../rel" }' "{ \"files\": { \"$1\": { \"content\": \"x\" } } }"
}

# Syntax and shape.
bad not-json "m/not-json.json: not valid JSON" \
  '{ "os": "demo", '
bad not-object "m/not-object.json: expected a JSON object at the top" \
  '[ "os", "demo" ]'
bad string-top "m/string-top.json: expected a JSON object at the top" \
  '"demo"'
: > m/empty.json
bad empty "m/empty.json: expected a JSON object at the top"

# Unknown keys, at every level.
bad unknown-top "m/unknown-top.json: extra: unknown key" \
  '{ "os": "demo", "release": { "dir": "../rel" }, "extra": 1 }'
bad unknown-release "release.branch: unknown key" \
  "$(with '{ "dir": "../rel", "branch": "x" }' '{}')"
bad unknown-kernel "kernel.cmdline: unknown key" \
  '{ "os": "demo", "release": { "dir": "../rel" }, "kernel": { "args": [], "cmdline": "x" } }'
bad unknown-config "config.templates: unknown key" \
  "$(with '{ "dir": "../rel" }' '{ "vars": {}, "templates": {} }')"
bad unknown-file-key 'config.files["/etc/a"].owner: unknown key' \
  "$(with_file '{ "content": "x", "owner": "root" }')"

# Wrong types.
bad os-number "os: expected a string, got a number" \
  '{ "os": 5, "release": { "dir": "../rel" } }'
bad args-string "kernel.args: expected an array of strings, got a string" \
  "$(with '{ "dir": "../rel" }' '{}' '"quiet"')"
bad arg-number "kernel.args[1]: expected a string, got a number" \
  "$(with '{ "dir": "../rel" }' '{}' '["quiet", 5]')"
bad arg-gen "kernel.args[0]: 'gen.generation=9': gen.* arguments are written by gen itself" \
  "$(with '{ "dir": "../rel" }' '{}' '["gen.generation=9"]')"
bad arg-space "kernel.args[0]: 'a b' must be one non-empty word" \
  "$(with '{ "dir": "../rel" }' '{}' '["a b"]')"
bad var-object "config.vars.x: expected a string, number or boolean, got an object" \
  "$(with '{ "dir": "../rel" }' '{ "vars": { "x": { "a": 1 } } }')"
bad vars-array "config.vars: expected an object, got an array" \
  "$(with '{ "dir": "../rel" }' '{ "vars": [] }')"
bad config-string "config: expected an object, got a string" \
  "$(with '{ "dir": "../rel" }' '"x"')"
bad dir-number "release.dir: expected a string, got a number" \
  "$(with '{ "dir": 7 }' '{}')"
bad mode-number 'config.files["/etc/a"].mode: expected an octal string like "0640", got a number' \
  "$(with_file '{ "content": "x", "mode": 640 }')"
bad mode-999 "config.files[\"/etc/a\"].mode: '999' is not an octal mode like \"0640\"" \
  "$(with_file '{ "content": "x", "mode": "999" }')"
bad content-number 'config.files["/etc/a"].content: expected a string, got a number' \
  "$(with_file '{ "content": 5 }')"
bad symlink-mode 'config.files["/etc/a"].mode: a symlink has no mode' \
  "$(with_file '{ "symlink": "/x", "mode": "0644" }')"
bad two-kinds "config.files[\"/etc/a\"]: give exactly one of 'content', 'template', 'source', 'symlink' (got 'content' and 'source')" \
  "$(with_file '{ "content": "x", "source": "files/x" }')"
bad no-kind "config.files[\"/etc/a\"]: give one of 'content', 'template', 'source', 'symlink'" \
  "$(with_file '{ "mode": "0644" }')"

# Missing or doubled parts.
bad no-os "m/no-os.json: os: missing" \
  '{ "release": { "dir": "../rel" } }'
bad no-release "m/no-release.json: release: missing" \
  '{ "os": "demo" }'
bad two-sources "release: give exactly one of 'dir', 'archive', 'ref', 'packages' (got 'dir' and 'ref')" \
  "$(with '{ "dir": "../rel", "ref": "demo/release" }' '{}')"
bad no-source "release: give exactly one of 'dir', 'archive', 'ref', 'packages'" \
  "$(with '{}' '{}')"
bad dir-missing "release.dir: '../nope' does not exist" \
  "$(with '{ "dir": "../nope" }' '{}')"
bad dir-file "release.dir: 'templates/ok.in' is not a folder" \
  "$(with '{ "dir": "templates/ok.in" }' '{}')"
bad ref-missing "release.ref: 'nope/release' is not a ref or commit in the store" \
  "$(with '{ "ref": "nope/release" }' '{}')"

# Rendering.
bad undefined-content "config.files[\"/etc/a\"]: undefined variable 'nope' (define it in config.vars)" \
  "$(with_file '{ "content": "port={{nope}}" }')"
bad undefined-template "config.files[\"/etc/a\"]: undefined variable 'nope' (define it in config.vars)" \
  "$(with_file '{ "template": "templates/undefined.in" }')"
bad unclosed-content "config.files[\"/etc/a\"]: unclosed '{{'" \
  "$(with_file '{ "content": "port={{port" }')"
bad unclosed-template "config.files[\"/etc/a\"]: unclosed '{{'" \
  "$(with_file '{ "template": "templates/unclosed.in" }')"

# Targets outside /etc.
bad target-usr 'config.files["/usr/x"]: target must be a path below /etc/' \
  "$(with_target /usr/x)"
bad target-dotdot 'config.files["/etc/../x"]: target must be a path below /etc/' \
  "$(with_target /etc/../x)"
bad target-dot 'config.files["/etc/./x"]: target must be a path below /etc/' \
  "$(with_target /etc/./x)"
bad target-relative 'config.files["etc/x"]: target must be a path below /etc/' \
  "$(with_target etc/x)"
bad target-empty 'config.files["/etc//x"]: target must be a path below /etc/' \
  "$(with_target /etc//x)"
bad target-etc 'config.files["/etc/"]: target must be a path below /etc/' \
  "$(with_target /etc/)"
bad target-trailing-dotdot 'config.files["/etc/a/.."]: target must be a path below /etc/' \
  "$(with_target /etc/a/..)"

# Files the manifest reads must stay in its folder.
bad template-dotdot "config.files[\"/etc/a\"].template: '../outside.in' is outside the manifest's folder" \
  "$(with_file '{ "template": "../outside.in" }')"
bad template-symlink "config.files[\"/etc/a\"].template: 'templates/link-out.in' is outside the manifest's folder" \
  "$(with_file '{ "template": "templates/link-out.in" }')"
bad source-dotdot "config.files[\"/etc/a\"].source: '../outside.in' is outside the manifest's folder" \
  "$(with_file '{ "source": "../outside.in" }')"
bad source-symlink "config.files[\"/etc/a\"].source: 'files/abs-link' is outside the manifest's folder" \
  "$(with_file '{ "source": "files/abs-link" }')"
bad source-absolute "config.files[\"/etc/a\"].source: '/etc/passwd' must be relative to the manifest's folder" \
  "$(with_file '{ "source": "/etc/passwd" }')"
bad source-missing "config.files[\"/etc/a\"].source: 'files/nope': No such file or directory" \
  "$(with_file '{ "source": "files/nope" }')"
bad source-folder "config.files[\"/etc/a\"].source: 'files' is not a regular file" \
  "$(with_file '{ "source": "files" }')"

# The OS must match the sysroot's.
bad os-mismatch "m/os-mismatch.json: os: 'other' does not match this sysroot's OS 'demo'" \
  '{ "os": "other", "release": { "dir": "../rel" } }'

# The manifest file itself.
mkfifo m/fifo.json
expect_exit 1 timeout 60 "$GEN" --sysroot "$S" switch m/fifo.json
expect_error "'m/fifo.json' is not a regular file"
expect_unchanged "$T/before" "fifo: the sysroot is unchanged"

{ printf '{ "os": "demo", "release": { "dir": "../rel" }, "config": { "vars": { "pad": "'
  head -c 1100000 /dev/zero | tr '\0' x
  printf '" } } }\n'; } > m/huge.json
bad huge "m/huge.json: larger than 1048576 bytes"

printf '{ "os": "demo", "release": { "dir": "../rel" }, "config": { "vars": { "x": "\xff\xfe" } } }\n' > m/not-utf8.json
bad not-utf8 "m/not-utf8.json: not valid UTF-8"

# Hostile shapes (docs/RELIABILITY.md, "Hostile input").
bad dup-top "m/dup-top.json: os: the key appears more than once" \
  "$(echo '{ "os": "demo", "release": { "dir": "../rel" }, "os": "other" }')"
bad dup-var "m/dup-var.json: config.vars.port: the key appears more than once" \
  "$(with '{ "dir": "../rel" }' '{ "vars": { "port": 80, "port": 81 } }')"
bad dup-target 'm/dup-target.json: config.files["/etc/a"]: the key appears more than once' \
  "$(with '{ "dir": "../rel" }' '{ "files": { "/etc/a": { "content": "x" }, "/etc/a": { "content": "y" } } }')"
bad dup-release "m/dup-release.json: release.dir: the key appears more than once" \
  "$(with '{ "dir": "../rel", "dir": "../nope" }' '{}')"
bad setuid 'config.files["/etc/a"].mode: '"'4755'"': setuid and setgid bits are not allowed in config files' \
  "$(with_file '{ "content": "x", "mode": "4755" }')"
bad setgid 'config.files["/etc/a"].mode: '"'2755'"': setuid and setgid bits are not allowed in config files' \
  "$(with_file '{ "content": "x", "mode": "2755" }')"
python3 -c 'print("[" * 300000 + "]" * 300000)' > m/deep.json
bad deep "m/deep.json: arrays and objects nested deeper than 32 levels"
python3 -c 'import json; v = {}
for i in range(40): v = {"x": v}
print(json.dumps({"os": "demo", "release": {"dir": "../rel"}, "config": {"vars": v}}))' > m/deep-vars.json
bad deep-vars "m/deep-vars.json: arrays and objects nested deeper than 32 levels"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > m/ten-mb.json
bad ten-mb "m/ten-mb.json: larger than 1048576 bytes"
truncate -s 17M m/files/huge
bad huge-source "config.files[\"/etc/a\"]: '$T/m/files/huge' is larger than 16777216 bytes, the most a config file may hold" \
  "$(with_file '{ "source": "files/huge" }')"
rm m/files/huge
mkfifo m/files/fifo
bad source-fifo "config.files[\"/etc/a\"].source: 'files/fifo' is not a regular file" \
  "$(with_file '{ "source": "files/fifo" }')"
ln -s /dev/zero m/files/dev-link
bad source-device-link "config.files[\"/etc/a\"].source: 'files/dev-link' is outside the manifest's folder" \
  "$(with_file '{ "source": "files/dev-link" }')"
if [ "$(id -u)" -eq 0 ] && mknod m/files/null c 1 3 2> /dev/null; then
  bad source-device "config.files[\"/etc/a\"].template: 'files/null' is not a regular file" \
    "$(with_file '{ "template": "files/null" }')"
else
  for i in 1 2 3; do ok "# SKIP a device node needs root"; done
fi

expect_exit 1 gen switch m/missing.json
expect_error "opening manifest 'm/missing.json': No such file or directory"
expect_unchanged "$T/before" "missing: the sysroot is unchanged"

finish
