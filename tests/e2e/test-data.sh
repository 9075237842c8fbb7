#!/bin/bash
# Data across releases (docs/data.md): data paths are linked, never copied;
# releases declare data schemas; gen switch runs forward migrations before
# activation and stops at the first failure; switching back and rolling back
# are allowed only to a release that reads the data's schema, or with
# --force, loudly and recorded; a crash between migration steps resumes at
# the step that did not finish.
. "$TESTS_DIR/e2e/lib.sh"

plan 140

# --- three releases, schemas 1, 2 and 3, each reading its successor's -------
# The data file holds "vN NAME" lines; step 1-2 rewrites v1 as v2, step 2-3
# rewrites v2 as v3 with the name upper-cased.  Every run of a step is logged
# in var/lib/app/steps, with GEN_DATA_RETRY.
release () { # DIR VERSION SCHEMA READS
  make_release "$1" "$2"
  printf '{ "data": { "schema": %s, "reads": %s } }\n' "$3" "$4" > "$1/usr/lib/gen/release.json"
  mkdir -p "$1/usr/lib/gen/migrations"
}
step () { # DIR NAME BODY: an executable migration step
  {
    printf '#!/bin/sh\nset -eu\nrecords=${GEN_DATA_PATHS%%%%:*}/records\n'
    printf 'echo "%s retry=${GEN_DATA_RETRY:-0}" >> "$GEN_SYSROOT/var/lib/app/steps"\n' "$2"
    printf '%s\n' "$3"
  } > "$1/usr/lib/gen/migrations/$2"
  chmod 0755 "$1/usr/lib/gen/migrations/$2"
}
to_v2='sed "s/^v1 /v2 /" "$records" > "$records.new"; mv "$records.new" "$records"'
to_v3='sed "s/^v2 \(.*\)/v3 \U\1/" "$records" > "$records.new"; mv "$records.new" "$records"'
env_check='env | grep "^GEN_" | sort > "$GEN_SYSROOT/var/lib/app/env-$GEN_DATA_FROM-$GEN_DATA_TO"'
release rel/1 1.0 1 '[1, 2]'
release rel/2 2.0 2 '[2, 3]'
step rel/2 1-2 "$env_check; $to_v2"
release rel/3 3.0 3 '[3, 4]'
step rel/3 1-2 "$to_v2"
step rel/3 2-3 "$env_check; $to_v3"
release rel/4 4.0 4 '[4]'                    # ships no step 3-4
release rel/5 5.0 4 '[4]'
step rel/5 3-4 'echo "cannot convert line 2" >&2; exit 3'
release rel/6 6.0 4 '[4]'
step rel/6 3-4 'true'
chmod 0644 rel/6/usr/lib/gen/migrations/3-4  # not executable
make_release rel/0 0.9                       # declares nothing

data_manifest () { # FILE RELEASE_DIR [EXTRA_RELEASE_KEYS] [PATHS_JSON]
  cat > "$1" <<EOF
{
  "os": "$OS",
  "release": { "dir": "$2"${3:+, $3} },
  "data": { "paths": ${4:-[\"/var/lib/app\", \"/srv/app\"]} }
}
EOF
}
for n in 1 2 3 4 5 6; do data_manifest m$n.json rel/$n; done
data_manifest m3b.json rel/3 '"version": "3.0b"'

state () { jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]'; }
data_schema () { jq_ "$S/gen/data.json" 'd["schema"]'; }
records=$S/var/lib/gen/data/srv/app/records

# --- the first generation: the data starts at its release's schema ----------
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_stdout_contains "data:        schema 1 (the first generation: no migration)"
expect_stdout_contains "data paths:  /srv/app /var/lib/app"
expect_eq "$(data_schema)" 1 "gen/data.json: schema 1"
expect_eq "$(jq_ "$S/gen/generations/1/generation.json" 'd["data"]')" \
  '{"schema": 1, "reads": [1, 2], "declared_by": "release", "paths": ["/srv/app", "/var/lib/app"]}' \
  "generation 1 records its schema, reads and paths"
expect_true "/srv/app is kept in var/lib/gen/data/srv/app" test -d "$S/var/lib/gen/data/srv/app"
expect_true "/var/lib/app is var/lib/app" test -d "$S/var/lib/app"
expect_file_equals "$S/gen/generations/1/data-paths" $'var/lib/gen/data/srv/app /srv/app\n'
printf 'v1 alice\nv1 bob\n' > "$records"

# --- dry runs list the migrations and change nothing ------------------------
snapshot "$T/before"
expect_exit 0 gen switch --dry-run m2.json
expect_stdout_contains "data:        schema 1 → 2, would run migrations 1-2"
expect_unchanged "$T/before" "switch --dry-run runs no migration and writes nothing"

# --- a switch that would leave the current generation behind -----------------
expect_exit 1 gen switch m3.json
expect_error "cannot switch to release 3.0: it migrates the data from schema 1 to schema 3, but the current generation 1 (release 1.0) reads only schemas 1, 2, so it could not run on the migrated data and could not be rolled back to; switch one release at a time, or use --force"
expect_unchanged "$T/before" "the refused switch wrote nothing (not even the store)"
expect_exit 1 gen switch --dry-run m3.json
expect_error "reads only schemas 1, 2"

# --- forward, one release at a time -----------------------------------------
expect_exit 0 gen switch m2.json
expect_stdout_contains "data:        schema 1 → 2, migrated by 1-2"
expect_file_equals "$records" $'v2 alice\nv2 bob\n'
expect_eq "$(data_schema)" 2 "gen/data.json: schema 2"
expect_eq "$(jq_ "$S/gen/data.json" 'd["pending"]')" null "no step pending"
expect_eq "$(jq_ "$S/gen/data.json" '[e["event"] for e in d["history"]]')" '["start", "migrated"]' \
  "the history: start, migrated"
expect_file_equals "$S/var/lib/app/env-1-2" "GEN_DATA_FROM=1
GEN_DATA_PATHS=$S/var/lib/gen/data/srv/app:$S/var/lib/app
GEN_DATA_TO=2
GEN_RELEASE_DIR=$S/gen/deploy/$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')
GEN_SYSROOT=$S
"
expect_file_contains "$S/gen/migration-logs/2-1-2.log" "== gen: migration step 1-2 of release"

expect_exit 0 gen list
expect_eq "$(head -n 1 "$OUT" | tr -s ' ')" " GEN DATE RELEASE CHECKSUM KERNEL DATA STATE" "list: a DATA column"
expect_true "list: generation 1 writes schema 1" grep -qE '^ +1 .* 1 +$' "$OUT"
expect_true "list: generation 2 writes schema 2" grep -qE '^ +2 .* 2 +current, default$' "$OUT"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[[g["data"]["schema"], g["data"]["reads"], g["data"]["readable"]] for g in d["generations"]]')" \
  '[[1, [1, 2], true], [2, [2, 3], true]]' "list --json: schema, reads, readable"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["data"]["schema"], d["data"]["readable"], d["data"]["pending"], d["generation"]["data"]["schema"]]')" \
  '[2, true, null, 2]' "status --json: the data's schema"
expect_exit 0 gen diff 1 2
expect_stdout_contains "data: schema 1 → 2 (reads 1, 2 → 2, 3)"
expect_exit 0 gen diff --json 1 2
expect_eq "$(jq_ "$OUT" '[d["data"]["before"]["schema"], d["data"]["after"]["schema"]]')" "[1, 2]" \
  "diff --json: data before and after"

# --- rollback one release: the previous release reads one schema ahead -------
expect_exit 0 gen rollback
expect_stdout_contains "rolled back from generation 2 to generation 1"
expect_eq "$(state)" "[1, 1, 2]" "generation 1 is current again"
expect_file_equals "$records" $'v2 alice\nv2 bob\n'
expect_eq "$(data_schema)" 2 "a rollback does not move the data"
expect_exit 0 gen status
expect_stdout_contains "data:      schema 2 (generation 1 reads 1, 2)"
expect_exit 0 gen rollback --to 2

expect_exit 0 gen switch m3.json
expect_stdout_contains "data:        schema 2 → 3, migrated by 2-3"
expect_file_equals "$records" $'v3 ALICE\nv3 BOB\n'
expect_eq "$(data_schema)" 3 "gen/data.json: schema 3"
expect_file_equals "$S/var/lib/app/steps" $'1-2 retry=0\n2-3 retry=0\n'

# --- rolling back across two schemas is refused -----------------------------
cp "$S/gen/state.json" "$T/state.before"
snapshot "$T/before"
expect_exit 1 gen rollback --to 1
expect_error "cannot roll back to generation 1: its release 1.0 reads data schemas 1, 2, but the data is at schema 3, written by release 3.0 (generation 3); roll back one release at a time (generations whose release reads schema 3: 2, 3), or use --force to make it current anyway, at the risk of it failing on the data or damaging it"
expect_unchanged "$T/before" "the refused rollback changed nothing"
expect_exit 1 gen switch m1.json
expect_error "cannot switch to release 1.0: it reads data schemas 1, 2, but the data is at schema 3, written by release 3.0 (generation 3); roll back one release at a time"
expect_unchanged "$T/before" "switching back across two schemas is refused too, and writes nothing"
expect_exit 0 gen list
expect_true "list: generation 1 cannot read the data" grep -qE '^ +1 .* 1 +cannot read data 3$' "$OUT"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["data"]["readable"] for g in d["generations"]]')" '[false, true, true]' \
  "list --json: generation 1 is not readable"

# One release at a time works, and the data stays where it is.
expect_exit 0 gen rollback
expect_stdout_contains "rolled back from generation 3 to generation 2"
expect_file_equals "$records" $'v3 ALICE\nv3 BOB\n'
expect_exit 1 gen rollback
expect_error "cannot roll back to generation 1: its release 1.0 reads data schemas 1, 2, but the data is at schema 3"

# --- --force: loud, and recorded --------------------------------------------
expect_exit 0 gen rollback --to 1 --force
expect_stdout_contains "rolled back from generation 2 to generation 1"
expect_eq "$(cat "$ERR")" "warning: --force: generation 1 (release 1.0) reads data schemas 1, 2, but the data is at schema 3, written by release 3.0 (generation 3): it may fail on the data or damage it" \
  "rollback --force: one warning line naming the risk"
expect_eq "$(state)" "[1, 1, 3]" "generation 1 is current"
expect_eq "$(jq_ "$S/gen/data.json" '[d["history"][-1][k] for k in ("event", "command", "generation", "schema", "reads")]')" \
  '["forced", "rollback", 1, 3, [1, 2]]' "gen/data.json records the forced rollback"
expect_file_equals "$records" $'v3 ALICE\nv3 BOB\n'
expect_exit 0 gen status
expect_stdout_contains "data:      schema 3, which generation 1 does NOT read (it reads 1, 2); made current with --force on"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["data"]["readable"], d["data"]["last_forced"]["command"]]')" '[false, "rollback"]' \
  "status --json: not readable, forced by a rollback"
expect_exit 0 gen rollback --to 3
expect_eq "$(cat "$ERR")" "" "a rollback that needs no force warns of nothing"

# --- a missing step refuses the switch before anything runs ------------------
snapshot "$T/before"
expect_exit 1 gen switch m4.json
expect_error "cannot switch to release 4.0: it migrates the data from schema 3 to schema 4, but no migration step starts at schema 3 (expected usr/lib/gen/migrations/3-4; the release ships none); nothing was run"
expect_unchanged "$T/before" "a missing step: nothing written, nothing run"
expect_exit 1 gen switch --force m4.json
expect_error "no migration step starts at schema 3"
expect_exit 1 gen switch m6.json
expect_error "cannot switch to release 6.0: its migration step usr/lib/gen/migrations/3-4 is not executable; nothing was run"
expect_unchanged "$T/before" "a step that is not executable: nothing written, nothing run"

# --- a failing step: the old generation stays current ------------------------
expect_exit 1 gen switch m5.json
expect_error "migration step 3-4 of release 5.0 failed (exit status 3: 'cannot convert line 2'); the data is at schema 3, which generation 3, still current, reads; output in gen/migration-logs/4-3-4.log"
expect_eq "$(state)" "[3, 3, 3]" "no generation was made; generation 3 is current"
expect_true "no generation folder 4" test ! -e "$S/gen/generations/4"
expect_eq "$(data_schema)" 3 "the data stays at schema 3"
expect_eq "$(jq_ "$S/gen/data.json" '[d["pending"]["from"], d["pending"]["to"], d["pending"]["status"]]')" \
  "[3, 4, 3]" "gen/data.json: step 3-4 failed with status 3"
expect_file_contains "$S/gen/migration-logs/4-3-4.log" "cannot convert line 2"
expect_file_equals "$records" $'v3 ALICE\nv3 BOB\n'
expect_exit 0 gen status
expect_stdout_contains "migration: step 3-4 of release 5.0 failed on"

# --- release.data in the manifest, for a release that declares nothing -------
data_manifest m0.json rel/0 '"data": { "schema": 3, "reads": [3] }'
expect_exit 0 gen switch m0.json
expect_stdout_contains "data:        schema 3, no migration"
expect_eq "$(jq_ "$S/gen/generations/4/generation.json" '[d["data"]["schema"], d["data"]["declared_by"]]')" \
  '[3, "manifest"]' "release.data: schema 3, declared by the manifest"
data_manifest m0-bad.json rel/3 '"data": { "schema": 2 }'
expect_exit 1 gen switch m0-bad.json
expect_error "m0-bad.json: release.data (schema 2, reads 2) contradicts the release's own usr/lib/gen/release.json (schema 3, reads 3, 4): remove release.data from the manifest"
data_manifest m0-none.json rel/0
expect_exit 1 gen switch m0-none.json
expect_error "cannot switch to release 0.9: it reads data schemas 0, but the data is at schema 3"

# --- data paths a manifest may not declare -----------------------------------
bad_path () { # PATHS_JSON ERROR
  data_manifest bad.json rel/3 '' "$1"
  expect_exit 1 gen switch bad.json
  expect_error "$2"
}
bad_path '["srv/app"]' "bad.json: data.paths[0]: 'srv/app' must be an absolute path"
bad_path '["/etc/app"]' "bad.json: data.paths[0]: '/etc/app' must not be in /etc, /usr, /boot"
bad_path '["/usr/local/db"]' "bad.json: data.paths[0]: '/usr/local/db' must not be in /etc, /usr"
bad_path '["/srv/../etc"]' "bad.json: data.paths[0]: '/srv/../etc' must not have empty, '.' or '..' parts"
bad_path '["/srv/a:b"]' "bad.json: data.paths[0]: '/srv/a:b' must not contain spaces, control characters, ':'"
bad_path '["/srv/a", "/srv/a/b"]' "bad.json: data.paths[1]: '/srv/a' and '/srv/a/b': one data path cannot hold another"
bad_path '["/"]' "bad.json: data.paths[0]: '/' must not be / itself"
bad_path '"/srv"' "bad.json: data.paths: expected an array of strings, got a string"

# --- data is linked, never copied: a big file is never opened ----------------
rm -f "$S/var/lib/app/steps"
head -c 64M /dev/zero > "$S/var/lib/gen/data/srv/app/big"
head -c 16M /dev/zero > "$S/var/lib/app/big-too"
ls_big () { stat -c '%i %h %s %Y' "$S/var/lib/gen/data/srv/app/big" "$S/var/lib/app/big-too"; }
ls_big > "$T/big.before"
traced () { # TRACE CMD…: runs CMD under strace, recording every file system call
  local trace=$1
  shift
  strace_ -f -qq -e trace=%file,%desc -o "$trace" "$@"
}
expect_exit 0 traced "$T/trace-switch" "$GEN" --sysroot "$S" switch m3b.json
expect_stdout_contains "made generation 5: release 3.0b"
expect_exit 0 traced "$T/trace-rollback" "$GEN" --sysroot "$S" rollback
expect_stdout_contains "rolled back from generation 5 to generation 4"
expect_exit 0 traced "$T/trace-forward" "$GEN" --sysroot "$S" rollback --to 5
# The names whole (quoted, or a path's last part): $T itself may hold "big".
expect_eq "$(grep -hcE '("|/)big(-too)?"' "$T/trace-switch" "$T/trace-rollback" "$T/trace-forward" | paste -sd ' ')" "0 0 0" \
  "switch and rollbacks never open, stat or read the data files"
expect_true "the traces saw the data folders (they can fail)" grep -q 'var/lib/gen/data/srv/app' "$T/trace-switch"
expect_eq "$(ls_big)" "$(cat "$T/big.before")" "the data files keep their inode, link count, size and time"
expect_eq "$(find "$S/gen" "$S/boot" -size +1M | wc -l)" 0 "no copy of the data anywhere under gen/ or boot/"

# --- a crash between migration steps, and --force on a switch ----------------
# A fresh sysroot on schema 1 switches straight to a release with schema 3
# (steps 1-2 and 2-3); step 2-3 kills gen the first time it runs.
S=$T/crash
mkdir -p "$S"
release rel/3c 3.0 3 '[3, 4]'
step rel/3c 1-2 "$to_v2"
step rel/3c 2-3 '[ -e "$GEN_SYSROOT/crashed" ] || { touch "$GEN_SYSROOT/crashed"; kill -9 $PPID; exit 1; }
'"$to_v3"
data_manifest m3c.json rel/3c
must gen init --os demo
must gen switch m1.json
records=$S/var/lib/gen/data/srv/app/records
printf 'v1 carol\n' > "$records"
expect_exit 137 gen switch --force m3c.json
expect_eq "$(state)" "[1, 1, 1]" "the crash left generation 1 current"
expect_eq "$(data_schema)" 2 "progress was recorded after step 1-2"
expect_eq "$(jq_ "$S/gen/data.json" '[d["pending"]["from"], d["pending"]["to"], d["pending"]["status"]]')" \
  "[2, 3, null]" "step 2-3 began and did not finish"
expect_file_equals "$records" $'v2 carol\n'
expect_exit 0 gen status
expect_stdout_contains "migration: step 2-3 of release 3.0 began on"
expect_exit 0 gen switch --force m3c.json
expect_stdout_contains "data:        schema 2 → 3, migrated by 2-3"
expect_eq "$(cat "$ERR")" "warning: --force: the data moves from schema 2 to schema 3, which generation 1 (release 1.0, reads 1, 2) cannot read: it stays current until the new generation runs, may fail on the data or damage it, and rolling back to it will be refused" \
  "switch --force: one warning line naming the risk"
expect_file_equals "$S/var/lib/app/steps" $'1-2 retry=0\n2-3 retry=0\n2-3 retry=1\n'
expect_file_equals "$records" $'v3 CAROL\n'
expect_eq "$(jq_ "$S/gen/data.json" '[d["schema"], d["pending"], d["history"][-1]["event"], d["history"][-1]["command"]]')" \
  '[3, null, "forced", "switch"]' "gen/data.json: schema 3, nothing pending, the forced switch recorded"
expect_eq "$(state)" "[2, 2, 2]" "generation 2 is current"
finish
