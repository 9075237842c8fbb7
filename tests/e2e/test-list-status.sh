#!/bin/bash
# gen list and gen status, human and --json; --help of every command; usage
# errors.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

# Every command gen --help lists gets its --help checked: two tests each.
commands=$("$GEN" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
plan $((51 + 2 * $(echo "$commands" | wc -l)))

make_release rel/1.0 1.0
make_release rel/2.0 2.0
manifest m1.json '{ "dir": "rel/1.0" }'
manifest m2.json '{ "dir": "rel/2.0" }'
manifest m3.json '{ "dir": "rel/2.0" }' '{ "files": { "/etc/motd": { "content": "hi\n" } } }'
must gen init --os demo

# --- an initialised sysroot without generations -------------------------------
expect_exit 0 gen list
expect_stdout_contains "no generations yet (make one with 'gen switch MANIFEST')"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" 'd')" '{"generations": []}' "list --json: an empty generations array"
expect_exit 0 gen status
expect_stdout_contains "current:   none (make a generation with 'gen switch MANIFEST')"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["sysroot"], d["os"], d["current"], d["default"], d["booted"], d["generation"]]')" \
  "[\"$S\", \"demo\", null, null, null, null]" "status --json with no generation"

# --- generation 1 current, generation 2 the boot default ----------------------
must gen switch m1.json
must gen switch --boot m2.json
expect_exit 0 gen list
expect_eq "$(head -n 1 "$OUT" | tr -s ' ')" " GEN DATE RELEASE CHECKSUM KERNEL DATA STATE" "list: the header"
c1=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')
c2=$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')
date1=$(jq_ "$S/gen/generations/1/generation.json" 'd["date"]')
date1=${date1/T/ } date1=${date1%Z}
expect_eq "$(sed -n 2p "$OUT" | tr -s ' ')" " 1 $date1 1.0 ${c1:0:10} 6.1.0-gen-demo 0 current" \
  "list: generation 1 is current"
expect_true "list: generation 2 is the default" grep -qE "^ +2 .* 2\.0 +${c2:0:10} +6\.1\.0-gen-demo +0 +default\$" "$OUT"
expect_eq "$(wc -l < "$OUT")" 3 "list: a header and two generations"

expect_exit 0 gen list --json
cat > "$T/check-list.py" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert list(d) == ["generations"], list(d)
gens = d["generations"]
assert [g["generation"] for g in gens] == [1, 2], gens
for g in gens:
    assert type(g["generation"]) is int
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", g["date"]), g["date"]
    for k in ("current", "default", "booted", "pinned"):
        assert type(g[k]) is bool, (k, g[k])
    assert re.fullmatch(r"[0-9a-f]{64}", g["release"]["checksum"]), g["release"]
    assert type(g["release"]["version"]) is str
    assert g["kernel"]["version"] == "6.1.0-gen-demo", g["kernel"]
    m = g["manifest"]
    assert set(m) >= {"path", "revision", "dirty"}, m
    assert type(m["path"]) is str and m["revision"] is None and m["dirty"] is False, m
print("ok")
EOF
expect_eq "$(python3 "$T/check-list.py" "$OUT" 2>&1 | tail -n 1)" ok "list --json: every key with its type"
expect_eq "$(jq_ "$OUT" '[[g["current"], g["default"], g["booted"], g["pinned"]] for g in d["generations"]]')" \
  "[[true, false, false, false], [false, true, false, false]]" "list --json: 1 current, 2 default, none booted or pinned"
expect_eq "$(jq_ "$OUT" '[[g["release"]["checksum"], g["release"]["version"]] for g in d["generations"]]')" \
  "[[\"$c1\", \"1.0\"], [\"$c2\", \"2.0\"]]" "list --json: release checksum and version"
expect_eq "$(jq_ "$OUT" '[g["manifest"]["path"] for g in d["generations"]]')" \
  "[\"$T/m1.json\", \"$T/m2.json\"]" "list --json: manifest paths"

expect_exit 0 gen status
expect_stdout_contains "sysroot:   $S"
expect_stdout_contains "os:        demo"
expect_stdout_contains "current:   generation 1, release 1.0 (${c1:0:10}), made "
expect_stdout_contains "default:   generation 2 (differs: the next boot starts it)"
expect_stdout_contains "booted:    none (this sysroot is not the running system)"
expect_stdout_contains "kernel:    6.1.0-gen-demo, args: console=ttyS0 quiet"
expect_stdout_contains "manifest:  $T/m1.json"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["sysroot"], d["os"], d["current"], d["default"], d["booted"]]')" \
  "[\"$S\", \"demo\", 1, 2, null]" "status --json: sysroot, os, current, default, booted"
expect_eq "$(jq_ "$OUT" '[d["generation"]["generation"], d["generation"]["release"]["checksum"], d["generation"]["current"]]')" \
  "[1, \"$c1\", true]" "status --json: generation is the current one"

must gen switch m3.json
expect_exit 0 gen list
expect_true "list: generation 3 is current and default" grep -qE '^ +3 .* current, default$' "$OUT"
expect_true "list: generation 1 has no state" grep -qE "^ +1 .* 6\.1\.0-gen-demo +0 +\$" "$OUT"
expect_exit 0 gen status
expect_stdout_contains "default:   generation 3 (same)"

# --- help and usage errors --------------------------------------------------------
expect_exit 0 "$GEN" --help
expect_stdout_contains "Usage: gen [--sysroot DIR] COMMAND"
expect_exit 0 "$GEN" --version
expect_true "--version prints 'gen VERSION'" grep -qE '^gen [0-9]+\.[0-9]+' "$OUT"
expect_true "--help lists init, switch, rollback, list and status" \
  test "$(echo "$commands" | grep -cxE 'init|switch|rollback|list|status')" -eq 5
for cmd in $commands; do
  # --help works before the sysroot exists.
  expect_exit 0 "$GEN" --sysroot "$T/nowhere" "$cmd" --help
  expect_true "gen $cmd --help prints its usage" grep -qF "gen $cmd [OPTION" "$OUT"
done
expect_exit 2 gen bogus
expect_error "unknown command 'bogus' (see 'gen --help')"
expect_exit 2 gen list --bogus
expect_error "gen list: Unknown option --bogus"
expect_exit 2 gen status extra
expect_error "gen status: unexpected argument 'extra'"
expect_exit 2 "$GEN" --bogus list
expect_error "unknown global option '--bogus' (see 'gen --help')"
expect_exit 2 gen switch
expect_error "gen switch: expected one MANIFEST"
expect_exit 2 "$GEN"
expect_stderr_contains "Usage: gen [--sysroot DIR] COMMAND"

finish
