/* Unit tests for data across releases (src/gen-data.c): declarations, data
 * paths, gen/data.json, planning a move and running migrations. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-data.h"
#include "gen-error.h"
#include "gen-util.h"

/* --- declarations ---------------------------------------------------------- */

static GenDataDecl *
parse (const char *json, GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return gen_data_decl_parse (node, "release.data", GEN_DATA_BY_MANIFEST, error);
}

static GenDataDecl *
decl (guint schema, const char *reads_json)
{
  g_autofree char *json = g_strdup_printf ("{\"schema\": %u, \"reads\": %s}", schema, reads_json);
  g_autoptr (GError) error = NULL;
  GenDataDecl *d = parse (json, &error);
  g_assert_no_error (error);
  return d;
}

static void
test_decl_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenDataDecl) d = parse ("{\"schema\": 2, \"reads\": [3, 2]}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->schema, ==, 2);
  g_autofree char *reads = gen_data_decl_reads_string (d);
  g_assert_cmpstr (reads, ==, "2, 3"); /* sorted */
  g_assert_true (gen_data_decl_reads (d, 3));
  g_assert_false (gen_data_decl_reads (d, 1));

  g_autoptr (GenDataDecl) own = parse ("{\"schema\": 5}", &error);
  g_assert_no_error (error);
  g_autofree char *own_reads = gen_data_decl_reads_string (own);
  g_assert_cmpstr (own_reads, ==, "5");

  static const struct
  {
    const char *json, *message;
  } bad[] = {
    { "[]", "release.data: expected an object like {\"schema\": 2, \"reads\": [2, 3]}" },
    { "{\"reads\": [1]}", "release.data.schema: missing" },
    { "{\"schema\": \"2\"}", "release.data.schema: expected a schema number (an integer from 0)" },
    { "{\"schema\": 1.5}", "release.data.schema: expected a schema number" },
    { "{\"schema\": -1}", "release.data.schema: -1 is not a schema number" },
    { "{\"schema\": 2, \"reads\": 2}", "release.data.reads: expected an array of schema numbers" },
    { "{\"schema\": 2, \"reads\": [2, 2]}", "release.data.reads[1]: 2 is listed twice" },
    { "{\"schema\": 2, \"reads\": [3]}",
      "release.data.reads: must include the schema the release writes (2)" },
    { "{\"schema\": 2, \"read\": [2]}",
      "release.data.read: unknown key (expected 'schema', 'reads')" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_autoptr (GenDataDecl) b = parse (bad[i].json, &error);
      g_assert_null (b);
      g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
      if (!g_str_has_prefix (error->message, bad[i].message))
        g_error ("%s: got '%s'", bad[i].json, error->message);
    }
}

static void
test_decl_release_file_and_choose (void)
{
  g_autoptr (GError) error = NULL;
  GenDataDecl *d = NULL;
  const char *text = "{\"name\": \"x\", \"data\": {\"schema\": 1, \"reads\": [1, 2]}}";
  g_assert_true (gen_data_decl_parse_release_file (text, strlen (text), &d, &error));
  g_autoptr (GenDataDecl) from_tree = d;
  g_assert_cmpuint (from_tree->schema, ==, 1);
  g_assert_cmpint (from_tree->source, ==, GEN_DATA_BY_RELEASE);

  g_assert_true (gen_data_decl_parse_release_file ("{}", 2, &d, &error));
  g_assert_null (d);
  g_assert_false (gen_data_decl_parse_release_file ("{", 1, &d, &error));
  g_assert_true (g_str_has_prefix (error->message, "usr/lib/gen/release.json: not valid JSON"));
  g_clear_error (&error);
  g_assert_false (gen_data_decl_parse_release_file ("{\"data\": {}}", 12, &d, &error));
  g_assert_cmpstr (error->message, ==, "usr/lib/gen/release.json: data.schema: missing");
  g_clear_error (&error);

  /* The tree wins; the manifest fills in; both must agree; neither: 0. */
  g_autoptr (GenDataDecl) from_manifest = decl (1, "[2, 1]");
  g_autoptr (GenDataDecl) a = gen_data_decl_choose (from_tree, from_manifest, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->source, ==, GEN_DATA_BY_RELEASE);
  g_autoptr (GenDataDecl) b = gen_data_decl_choose (NULL, from_manifest, &error);
  g_assert_cmpint (b->source, ==, GEN_DATA_BY_MANIFEST);
  g_autoptr (GenDataDecl) c = gen_data_decl_choose (NULL, NULL, &error);
  g_assert_cmpint (c->source, ==, GEN_DATA_UNDECLARED);
  g_assert_cmpuint (c->schema, ==, 0);
  g_assert_true (gen_data_decl_reads (c, 0));
  g_autoptr (GenDataDecl) other = decl (2, "[2]");
  g_assert_null (gen_data_decl_choose (from_tree, other, &error));
  g_assert_cmpstr (error->message, ==,
                   "release.data (schema 2, reads 2) contradicts the release's own "
                   "usr/lib/gen/release.json (schema 1, reads 1, 2): remove release.data from "
                   "the manifest");
}

static void
test_decl_json_roundtrip (void)
{
  g_autoptr (GenGeneration) g = gen_generation_new ();
  g->number = 3;
  g->os = g_strdup ("demo");
  g->release_checksum = g_strnfill (64, 'a');
  gen_data_decl_free (g->data);
  g->data = decl (2, "[2, 3]");
  g->data->source = GEN_DATA_BY_RELEASE;
  g_strfreev (g->data_paths);
  g->data_paths = g_strsplit ("/srv/a /var/lib/b", " ", -1);
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autoptr (GError) error = NULL;
  g_autoptr (GenGeneration) back = gen_generation_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_true (gen_data_decl_equal (back->data, g->data));
  g_assert_cmpint (back->data->source, ==, GEN_DATA_BY_RELEASE);
  g_assert_true (
      g_strv_equal ((const char *const *) back->data_paths, (const char *const *) g->data_paths));

  /* A record written before data schemas: schema 0, reads 0, no paths. */
  json_object_remove_member (json_node_get_object (node), "data");
  g_autoptr (GenGeneration) old = gen_generation_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (old->data->schema, ==, 0);
  g_assert_true (gen_data_decl_reads (old->data, 0));
  g_assert_cmpuint (g_strv_length (old->data_paths), ==, 0);
}

/* --- data paths ------------------------------------------------------------ */

static void
test_paths (void)
{
  static const char *const good[] = { "/srv/db", "/var/lib/db", "/var", "/data", "/opt/app/x" };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      if (!gen_data_path_check (good[i], &error))
        g_error ("%s: %s", good[i], error->message);
    }
  static const struct
  {
    const char *path, *why;
  } bad[] = {
    { "srv/db", "must be an absolute path" },
    { "/", "must not be / itself" },
    { "/etc/app", "must not be in /etc" },
    { "/etc", "must not be in /etc" },
    { "/usr/share/x", "must not be in /etc, /usr" },
    { "/boot/x", "must not be in /etc, /usr, /boot" },
    { "/proc/x", "must not be in /etc" },
    { "/lib64/x", "must not be in /etc" },
    { "/srv//db", "must not have empty, '.' or '..' parts" },
    { "/srv/db/", "must not have empty" },
    { "/srv/./db", "must not have empty" },
    { "/srv/../etc", "must not have empty" },
    { "/srv/a b", "must not contain spaces" },
    { "/srv/a:b", "must not contain spaces, control characters, ':'" },
    { "/srv/a\nb", "must not contain spaces" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (gen_data_path_check (bad[i].path, &error));
      g_assert_nonnull (strstr (error->message, bad[i].why));
    }
  static const char *const storage[][2] = {
    { "/srv/db", "var/lib/gen/data/srv/db" },
    { "/var/lib/db", "var/lib/db" },
    { "/var", "var" },
    { "/variable", "var/lib/gen/data/variable" },
    { "/lib-not/x", "var/lib/gen/data/lib-not/x" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (storage); i++)
    {
      g_autofree char *s = gen_data_path_storage (storage[i][0]);
      g_assert_cmpstr (s, ==, storage[i][1]);
    }
}

/* --- a sysroot: plans and migrations --------------------------------------- */

typedef struct
{
  char *dir;
  GenSysroot *sysroot;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-data-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_prepare (f->dir, "demo", &error));
  f->sysroot = gen_sysroot_open (f->dir, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gen_sysroot_free (f->sysroot);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->dir);
}

/* Release N: checksum N repeated, version "N.0". */
static GenGeneration *
make_generation (guint n, guint schema, const char *reads)
{
  GenGeneration *g = gen_generation_new ();
  g->number = n;
  g->os = g_strdup ("demo");
  g->release_checksum = g_strnfill (64, '0' + n);
  g->release_version = g_strdup_printf ("%u.0", n);
  gen_data_decl_free (g->data);
  g->data = decl (schema, reads);
  g_strfreev (g->data_paths);
  g->data_paths = g_strsplit ("/srv/app", " ", -1);
  return g;
}

/* Writes generation @g's record, and makes it current, default and last. */
static void
commit_generation (Fixture *f, GenGeneration *g)
{
  g_autofree char *dir = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", g->number);
  g_autofree char *path = g_build_filename (dir, "generation.json", NULL);
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_mkdir_p_at (f->sysroot->dfd, dir, 0755, &error));
  g_assert_true (gen_write_file_at (f->sysroot->dfd, path, json, strlen (json), 0644, &error));
  g_assert_true (
      gen_sysroot_commit_state (f->sysroot, "demo", g->number, g->number, g->number, &error));
  g_assert_no_error (error);
}

static GPtrArray *
steps (const char *names)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_data_step_free);
  g_auto (GStrv) list = g_strsplit (names, " ", -1);
  for (char **n = list; *n; n++)
    if (**n)
      g_ptr_array_add (out, gen_data_step_parse (*n, TRUE));
  return g_steal_pointer (&out);
}

static char *
step_names (GenDataPlan *plan)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < plan->steps->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((GenDataStep *) plan->steps->pdata[i])->name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_step_parse (void)
{
  static const char *const bad[] = { "1", "2-1", "1-1", "a-2", "1-b", "-1-2", "1-2.sh", "README" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_null (gen_data_step_parse (bad[i], TRUE));
  GenDataStep *s = gen_data_step_parse ("10-12", FALSE);
  g_assert_cmpuint (s->from, ==, 10);
  g_assert_cmpuint (s->to, ==, 12);
  g_assert_false (s->executable);
  gen_data_step_free (s);
}

static void
test_plan_first (Fixture *f, gconstpointer data)
{
  g_autoptr (GenGeneration) g = make_generation (1, 4, "[4, 5]");
  g_autoptr (GError) error = NULL;
  g_autoptr (GenDataPlan) plan = gen_data_plan (f->sysroot, g, NULL, "switch", FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (plan->first);
  g_assert_cmpuint (plan->to, ==, 4);
  g_assert_cmpuint (plan->steps->len, ==, 0);
  g_assert_true (gen_data_commit (f->sysroot, plan, &error));
  g_autoptr (GenDataState) st = gen_data_state_load (f->sysroot, &error);
  g_assert_true (st->exists);
  g_assert_cmpuint (st->schema, ==, 4);
}

static void
test_plan_moves (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenGeneration) g1 = make_generation (1, 1, "[1, 2]");
  g_autoptr (GenDataPlan) first = gen_data_plan (f->sysroot, g1, NULL, "switch", FALSE, &error);
  commit_generation (f, g1);
  g_assert_true (gen_data_commit (f->sysroot, first, &error));

  /* Forward one schema: the step 1-2; 1-3 would skip what generation 1 reads. */
  g_autoptr (GenGeneration) g2 = make_generation (2, 2, "[2, 3]");
  g_autoptr (GPtrArray) available = steps ("1-2 2-3 0-1 1-3");
  g_autoptr (GenDataPlan) plan = gen_data_plan (f->sysroot, g2, available, "switch", FALSE, &error);
  g_assert_no_error (error);
  g_autofree char *names = step_names (plan);
  g_assert_cmpstr (names, ==, "1-2");
  g_assert_cmpuint (plan->from, ==, 1);
  g_assert_cmpuint (plan->to, ==, 2);
  g_assert_null (plan->forced);

  /* Two schemas at once: the fewest steps, but generation 1 reads only 1, 2. */
  g_autoptr (GenGeneration) g3 = make_generation (3, 3, "[3, 4]");
  g_assert_null (gen_data_plan (f->sysroot, g3, available, "switch", FALSE, &error));
  g_assert_cmpstr (error->message, ==,
                   "cannot switch to release 3.0: it migrates the data from schema 1 to schema 3, "
                   "but the current generation 1 (release 1.0) reads only schemas 1, 2, so it "
                   "could not run on the migrated data and could not be rolled back to; switch "
                   "one release at a time, or use --force");
  g_clear_error (&error);
  g_autoptr (GenDataPlan) forced
      = gen_data_plan (f->sysroot, g3, available, "switch", TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *forced_names = step_names (forced);
  g_assert_cmpstr (forced_names, ==, "1-3");
  g_assert_nonnull (
      strstr (forced->forced, "which generation 1 (release 1.0, reads 1, 2) cannot read"));

  /* Without a shortcut, the chain; with a gap, the schema it stops at. */
  g_autoptr (GPtrArray) chain = steps ("2-3 1-2");
  g_autoptr (GenDataPlan) chained = gen_data_plan (f->sysroot, g3, chain, "switch", TRUE, &error);
  g_autofree char *chained_names = step_names (chained);
  g_assert_cmpstr (chained_names, ==, "1-2 2-3");
  g_autoptr (GPtrArray) gap = steps ("1-2");
  g_assert_null (gen_data_plan (f->sysroot, g3, gap, "switch", TRUE, &error));
  g_assert_cmpstr (error->message, ==,
                   "cannot switch to release 3.0: it migrates the data from schema 1 to schema 3, "
                   "but no migration step starts at schema 2 (expected "
                   "usr/lib/gen/migrations/2-3; the release ships 1-2); nothing was run");
  g_clear_error (&error);
  g_autoptr (GPtrArray) not_exec = steps ("");
  g_ptr_array_add (not_exec, gen_data_step_parse ("1-2", FALSE));
  g_assert_null (gen_data_plan (f->sysroot, g2, not_exec, "switch", TRUE, &error));
  g_assert_cmpstr (error->message, ==,
                   "cannot switch to release 2.0: its migration step usr/lib/gen/migrations/1-2 "
                   "is not executable; nothing was run");
  g_clear_error (&error);

  /* The data at 3, generation 3 current: back to 2 is fine, to 1 is not. */
  commit_generation (f, g2);
  commit_generation (f, g3);
  g_autoptr (GenDataState) st = gen_data_state_load (f->sysroot, &error);
  st->schema = 3;
  g_assert_true (gen_data_state_save (f->sysroot, st, &error));
  g_autoptr (GenDataPlan) back = gen_data_plan (f->sysroot, g2, NULL, "rollback", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->steps->len, ==, 0);
  g_assert_cmpuint (back->to, ==, 3);
  g_assert_null (gen_data_plan (f->sysroot, g1, NULL, "rollback", FALSE, &error));
  g_assert_cmpstr (error->message, ==,
                   "cannot roll back to generation 1: its release 1.0 reads data schemas 1, 2, but "
                   "the data is at schema 3, written by release 3.0 (generation 3); roll back one "
                   "release at a time (generations whose release reads schema 3: 2, 3), or use "
                   "--force to make it current anyway, at the risk of it failing on the data or "
                   "damaging it");
  g_clear_error (&error);
  g_autoptr (GenDataPlan) risky = gen_data_plan (f->sysroot, g1, NULL, "rollback", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (risky->forced, ==,
                   "generation 1 (release 1.0) reads data schemas 1, 2, but the data is at "
                   "schema 3, written by release 3.0 (generation 3): it may fail on the data or "
                   "damage it");
  g_assert_true (gen_data_commit (f->sysroot, risky, &error));
  g_autoptr (GenDataState) after = gen_data_state_load (f->sysroot, &error);
  JsonObject *e = gen_data_state_last_forced (after);
  g_assert_nonnull (e);
  g_assert_cmpstr (json_object_get_string_member (e, "command"), ==, "rollback");
  g_assert_cmpint (json_object_get_int_member (e, "generation"), ==, 1);
  g_assert_cmpuint (after->schema, ==, 3);
}

/* Writes an executable step into release @n's checkout. */
static void
write_step (Fixture *f, guint n, const char *name, const char *body)
{
  g_autofree char *checksum = g_strnfill (64, '0' + n);
  g_autofree char *dir = g_strdup_printf (GEN_DEPLOY_DIR "/%s/" GEN_DATA_MIGRATIONS_DIR, checksum);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = g_strdup_printf ("#!/bin/sh\n%s\n", body);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_mkdir_p_at (f->sysroot->dfd, dir, 0755, &error));
  unlinkat (f->sysroot->dfd, path, 0);
  g_assert_true (gen_write_new_file_at (f->sysroot->dfd, path, text, strlen (text), 0755, &error));
}

static char *
read_sysroot_file (Fixture *f, const char *path)
{
  g_autofree char *full = g_build_filename (f->dir, path, NULL);
  char *text = NULL;
  g_file_get_contents (full, &text, NULL, NULL);
  return text;
}

static void
test_migrate (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenGeneration) g1 = make_generation (1, 1, "[1, 2, 3]");
  g_autoptr (GenDataPlan) first = gen_data_plan (f->sysroot, g1, NULL, "switch", FALSE, &error);
  commit_generation (f, g1);
  g_assert_true (gen_data_commit (f->sysroot, first, &error));
  g_assert_true (gen_data_prepare_paths (f->sysroot, g1->data_paths, &error));

  /* 1-2 appends to a file in the data path; 2-3 fails the first time. */
  write_step (
      f, 3, "1-2",
      "echo \"1-2 $GEN_DATA_FROM $GEN_DATA_TO ${GEN_DATA_RETRY:-0}\" >> \"$GEN_DATA_PATHS/log\"");
  write_step (f, 3, "2-3", "echo 'no luck'; exit 7");
  g_autoptr (GenGeneration) g3 = make_generation (3, 3, "[3]");
  g_autoptr (GPtrArray) available = steps ("1-2 2-3");
  g_autoptr (GenDataPlan) plan = gen_data_plan (f->sysroot, g3, available, "switch", FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (gen_data_migrate (f->sysroot, plan, g3->data_paths, 2, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (
      error->message, "migration step 2-3 of release 3.0 failed (exit status 7: 'no luck'); the "
                      "data is at schema 2, which generation 1, still current, reads; output in "
                      "gen/migration-logs/2-2-3.log"));
  g_clear_error (&error);
  g_autoptr (GenDataState) st = gen_data_state_load (f->sysroot, &error);
  g_assert_cmpuint (st->schema, ==, 2);
  g_assert_true (st->pending);
  g_assert_cmpuint (st->pending_from, ==, 2);
  g_assert_cmpint (st->pending_status, ==, 7);
  g_autofree char *log = read_sysroot_file (f, "var/lib/gen/data/srv/app/log");
  g_assert_cmpstr (log, ==, "1-2 1 2 0\n");

  /* Fixed: the next attempt starts at 2-3, told it is a retry. */
  write_step (
      f, 3, "2-3",
      "echo \"2-3 $GEN_DATA_FROM $GEN_DATA_TO ${GEN_DATA_RETRY:-0}\" >> \"$GEN_DATA_PATHS/log\"");
  g_autoptr (GenDataPlan) again
      = gen_data_plan (f->sysroot, g3, available, "switch", FALSE, &error);
  g_autofree char *names = step_names (again);
  g_assert_cmpstr (names, ==, "2-3");
  g_assert_true (gen_data_migrate (f->sysroot, again, g3->data_paths, 2, &error));
  g_assert_no_error (error);
  g_autoptr (GenDataState) done = gen_data_state_load (f->sysroot, &error);
  g_assert_cmpuint (done->schema, ==, 3);
  g_assert_false (done->pending);
  g_autofree char *log2 = read_sysroot_file (f, "var/lib/gen/data/srv/app/log");
  g_assert_cmpstr (log2, ==, "1-2 1 2 0\n2-3 2 3 1\n");
  g_autofree char *out = read_sysroot_file (f, GEN_DATA_LOG_DIR "/2-2-3.log");
  g_assert_nonnull (strstr (out, "no luck"));
  g_assert_nonnull (strstr (out, "(again)"));
}

static void
test_paths_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) paths = g_strsplit ("/data /srv/db /var/lib/db", " ", -1);
  g_assert_true (gen_data_prepare_paths (f->sysroot, paths, &error));
  g_assert_true (gen_exists_at (f->sysroot->dfd, "var/lib/gen/data/data"));
  g_assert_true (gen_exists_at (f->sysroot->dfd, "var/lib/gen/data/srv/db"));
  g_assert_true (gen_exists_at (f->sysroot->dfd, "var/lib/db"));
  g_assert_true (gen_mkdir_p_at (f->sysroot->dfd, "gen/tmp/g", 0755, &error));
  g_assert_true (gen_data_write_paths_file (f->sysroot, "gen/tmp/g", paths, &error));
  g_autofree char *text = read_sysroot_file (f, "gen/tmp/g/" GEN_DATA_PATHS_FILE);
  g_assert_cmpstr (text, ==, "var/lib/gen/data/data /data\nvar/lib/gen/data/srv/db /srv/db\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/decl/parse", test_decl_parse);
  g_test_add_func ("/data/decl/release-file-and-choose", test_decl_release_file_and_choose);
  g_test_add_func ("/data/decl/json", test_decl_json_roundtrip);
  g_test_add_func ("/data/paths/check", test_paths);
  g_test_add_func ("/data/steps/parse", test_step_parse);
  g_test_add ("/data/plan/first", Fixture, NULL, setup, test_plan_first, teardown);
  g_test_add ("/data/plan/moves", Fixture, NULL, setup, test_plan_moves, teardown);
  g_test_add ("/data/migrate", Fixture, NULL, setup, test_migrate, teardown);
  g_test_add ("/data/paths/file", Fixture, NULL, setup, test_paths_file, teardown);
  return g_test_run ();
}
