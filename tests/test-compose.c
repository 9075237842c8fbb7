/* Unit tests for composing releases from packages (src/gen-compose*.c):
 * the manifest's release.packages, resolution with libsolv, unpacking into
 * the store, the rules for hostile members, checksums and determinism.
 *
 * The packages are built once per run by tests/compose-repo.sh (dpkg-deb
 * and dpkg-scanpackages); hostile ones by tests/compose-hostile.py. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-compose.h"
#include "gen-error.h"
#include "gen-store.h"
#include "gen-util.h"

static char *repo_dir; /* the shared repository, built in main() */

typedef struct
{
  char *dir;
  char *sysroot_path;
  GenSysroot *sysroot;
  GenStore *store;
} Fixture;

static void
run (const char *const *argv)
{
  gint status;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s%s", argv[0], out, err);
}

static char *
new_sysroot (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_no_errno (g_mkdir_with_parents (path, 0755));
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_store_init (path, "demo", NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-compose-XXXXXX", NULL);
  f->sysroot_path = new_sysroot (f->dir, "sysroot");
  g_autoptr (GError) error = NULL;
  f->sysroot = gen_sysroot_open (f->sysroot_path, &error);
  g_assert_no_error (error);
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
  f->store = gen_store_open (f->sysroot, NULL, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gen_store_free (f->store);
  gen_sysroot_free (f->sysroot);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->sysroot_path);
  g_free (f->dir);
}

/* A manifest whose release.packages is @packages_json ("REPO" names the
 * shared repository). */
static GenManifest *
parse_manifest (Fixture *f, const char *packages_json, GError **error)
{
  g_autoptr (GString) pk = g_string_new (packages_json);
  g_string_replace (pk, "REPO", repo_dir, 0);
  g_autofree char *json
      = g_strdup_printf ("{\"os\":\"demo\",\"release\":{\"packages\":%s}}", pk->str);
  return gen_manifest_parse (json, strlen (json), "m.json", f->dir, error);
}

static GenManifest *
manifest (Fixture *f, const char *packages_json)
{
  g_autoptr (GError) error = NULL;
  GenManifest *m = parse_manifest (f, packages_json, &error);
  g_assert_no_error (error);
  return m;
}

/* "name version arch" of each chosen package, sorted, joined with ", ". */
static char *
resolve (Fixture *f, const char *packages_json, GError **error)
{
  g_autoptr (GenManifest) m = manifest (f, packages_json);
  g_autoptr (GenCompose) c
      = gen_compose_resolve (m->packages, m->release_version, "m.json", NULL, NULL, NULL, error);
  if (!c)
    return NULL;
  GPtrArray *pkgs = gen_compose_get_packages (c);
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < pkgs->len; i++)
    {
      GenComposePackage *p = pkgs->pdata[i];
      g_string_append_printf (s, "%s%s %s", i ? ", " : "", p->name, p->version);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
assert_resolves (Fixture *f, const char *packages_json, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = resolve (f, packages_json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, expected);
}

/* Fails with GEN_ERROR_INVALID_MANIFEST on one line holding each of @parts. */
static void
assert_unsatisfiable (Fixture *f, const char *packages_json, const char *const *parts)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = resolve (f, packages_json, &error);
  g_assert_null (got);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, "m.json: release.packages: "));
  for (const char *const *p = parts; *p; p++)
    if (!strstr (error->message, *p))
      g_error ("'%s' lacks '%s'", error->message, *p);
}

/* --- the manifest ------------------------------------------------------------ */

static void
test_manifest (Fixture *f, gconstpointer data)
{
  g_autoptr (GenManifest) m = manifest (
      f, "{\"repos\":[\"REPO\",{\"url\":\"http://deb.example.org/debian/\",\"suite\":\"bookworm\","
         "\"components\":[\"main\",\"contrib\"]},{\"url\":\"https://x.example.org/r\"}],"
         "\"install\":[\"app\",\"libfoo (>= 2.1~rc1)\",\"shell-a(<<1:2)\"],"
         "\"exclude\":[\"postfix-lite\"],\"architecture\":\"arm64\","
         "\"setuid\":[\"/usr/bin/su\",\"/usr/bin/passwd\"],\"version\":\"7.0\"}");
  g_assert_cmpint (m->release_kind, ==, GEN_RELEASE_PACKAGES);
  g_assert_null (m->release_source);
  g_assert_cmpstr (m->release_version, ==, "7.0");
  GenPackagesSpec *p = m->packages;
  g_assert_cmpuint (p->repos->len, ==, 3);
  GenPackageRepo *r0 = p->repos->pdata[0], *r1 = p->repos->pdata[1], *r2 = p->repos->pdata[2];
  g_assert_cmpstr (r0->url, ==, repo_dir);
  g_assert_null (r0->suite);
  g_assert_cmpuint (g_strv_length (r0->components), ==, 0);
  g_assert_cmpstr (r1->url, ==, "http://deb.example.org/debian");
  g_assert_cmpstr (r1->suite, ==, "bookworm");
  g_assert_cmpstr (r1->components[1], ==, "contrib");
  g_assert_cmpstr (r2->url, ==, "https://x.example.org/r");
  g_assert_null (r2->suite);
  g_assert_cmpuint (p->install->len, ==, 3);
  GenPackageRequest *q1 = p->install->pdata[1], *q2 = p->install->pdata[2];
  g_assert_cmpstr (q1->name, ==, "libfoo");
  g_assert_cmpstr (q1->op, ==, ">=");
  g_assert_cmpstr (q1->version, ==, "2.1~rc1");
  g_assert_cmpstr (q2->name, ==, "shell-a");
  g_assert_cmpstr (q2->op, ==, "<<");
  g_assert_cmpstr (q2->version, ==, "1:2");
  g_assert_cmpstr (p->exclude[0], ==, "postfix-lite");
  g_assert_cmpstr (p->architecture, ==, "arm64");
  g_assert_cmpstr (p->setuid[0], ==, "/usr/bin/passwd"); /* sorted */

  /* A dists/ repository gets component main by default. */
  g_autoptr (GenManifest) m2
      = manifest (f, "{\"repos\":[{\"url\":\"REPO\",\"suite\":\"stable\"}],\"install\":[\"app\"]}");
  g_assert_cmpstr (((GenPackageRepo *) m2->packages->repos->pdata[0])->components[0], ==, "main");
  g_assert_null (m2->packages->architecture);
}

static const struct
{
  const char *packages;
  const char *message;
} bad_manifests[] = {
  { "[]", "release.packages: expected an object, got an array" },
  { "{\"install\":[\"app\"]}", "release.packages.repos: missing" },
  { "{\"repos\":[],\"install\":[\"app\"]}", "release.packages.repos: expected a non-empty array" },
  { "{\"repos\":[\"nope\"],\"install\":[\"app\"]}",
    "release.packages.repos[0]: 'nope' does not exist" },
  { "{\"repos\":[\"REPO/Packages\"],\"install\":[\"app\"]}", "is not a folder" },
  { "{\"repos\":[\"ftp://x/y\"],\"install\":[\"app\"]}",
    "release.packages.repos[0]: 'ftp://x/y': a repository is a folder or an http:// or https:// "
    "URL" },
  { "{\"repos\":[5],\"install\":[\"app\"]}",
    "release.packages.repos[0]: expected a folder, a URL or an object with 'url', got a number" },
  { "{\"repos\":[{\"suite\":\"x\"}],\"install\":[\"app\"]}",
    "release.packages.repos[0].url: missing" },
  { "{\"repos\":[{\"url\":\"REPO\",\"mirror\":1}],\"install\":[\"app\"]}",
    "release.packages.repos[0].mirror: unknown key" },
  { "{\"repos\":[{\"url\":\"REPO\",\"components\":[\"main\"]}],\"install\":[\"app\"]}",
    "release.packages.repos[0].components: components need a suite" },
  { "{\"repos\":[{\"url\":\"REPO\",\"suite\":\"../x\"}],\"install\":[\"app\"]}",
    "release.packages.repos[0].suite: '../x' is not a suite name" },
  { "{\"repos\":[\"REPO\"]}", "release.packages.install: missing" },
  { "{\"repos\":[\"REPO\"],\"install\":[]}", "release.packages.install: must not be empty" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"App\"]}",
    "release.packages.install[0]: 'App' is not a package name with an optional version" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app (>= )\"]}",
    "release.packages.install[0]: 'app (>= )'" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app (~ 1)\"]}",
    "release.packages.install[0]: 'app (~ 1)'" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app (>= 1) x\"]}", "release.packages.install[0]" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app | b\"]}", "release.packages.install[0]" },
  { "{\"repos\":[\"REPO\"],\"install\":[1]}",
    "release.packages.install[0]: expected a string, got a number" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"exclude\":[\"app\"]}",
    "release.packages.exclude[0]: 'app' is also in release.packages.install" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"exclude\":[\"a b\"]}",
    "release.packages.exclude[0]: 'a b' is not a package name" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"architecture\":\"all\"}",
    "release.packages.architecture: 'all' is not a Debian architecture" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"setuid\":[\"usr/bin/su\"]}",
    "release.packages.setuid[0]: 'usr/bin/su' must be an absolute path" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"setuid\":[\"/usr/../su\"]}",
    "release.packages.setuid[0]" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"version\":5}",
    "release.packages.version: expected a string, got a number" },
  { "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"extra\":true}",
    "release.packages.extra: unknown key" },
};

static void
test_manifest_invalid (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_manifests); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GenManifest) m = parse_manifest (f, bad_manifests[i].packages, &error);
      g_test_message ("manifest %u: %s", i, bad_manifests[i].packages);
      g_assert_null (m);
      g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
      g_assert_null (strchr (error->message, '\n'));
      if (!strstr (error->message, bad_manifests[i].message))
        g_error ("manifest %u: error '%s' lacks '%s'", i, error->message, bad_manifests[i].message);
    }

  /* The version once, and one source. */
  g_autoptr (GError) error = NULL;
  const char *both = "{\"os\":\"d\",\"release\":{\"version\":\"1\",\"packages\":{\"repos\":[\"/\"],"
                     "\"install\":[\"a1\"],\"version\":\"2\"}}}";
  g_assert_null (gen_manifest_parse (both, strlen (both), "m.json", f->dir, &error));
  g_assert_nonnull (strstr (error->message, "release.packages.version: give the version once"));
  g_clear_error (&error);
  const char *two = "{\"os\":\"d\",\"release\":{\"ref\":\"x\",\"packages\":{}}}";
  g_assert_null (gen_manifest_parse (two, strlen (two), "m.json", f->dir, &error));
  g_assert_nonnull (strstr (error->message, "release: give exactly one of 'dir', 'archive', "
                                            "'ref', 'packages' (got 'ref' and 'packages')"));
}

/* --- resolution ------------------------------------------------------------------ */

static void
test_resolve_relations (Fixture *f, gconstpointer data)
{
  /* Depends (versioned: libfoo 2.3, not 1.5), Pre-Depends (prelib), a
   * virtual package (mail-transport-agent by postfix-lite), the first of
   * two alternatives (shell-a); base-lite is Essential and Priority:
   * required but nothing asks for it, so it stays out. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"app\"]}",
                   "app 2.1-1, libfoo 2.3, postfix-lite 1.0, prelib 1.0, shell-a 1.0");
  /* A request with a version picks an older package and its own needs. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"app (<< 2)\"]}",
                   "app 1.0-1, libfoo 2.3");
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"app (= 1.0-1)\",\"libfoo (<= 2)\"]}",
                   "app 1.0-1, libfoo 1.5");
  /* Asked for, an Essential package is installed like any other. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"base-lite\"]}", "base-lite 1.0");
  /* A virtual package can be asked for by name. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"mail-transport-agent\"]}",
                   "postfix-lite 1.0");
}

static void
test_resolve_alternatives (Fixture *f, gconstpointer data)
{
  /* The first alternative wins, even when libsolv would sort it last. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"revalt\"]}", "revalt 1.0, shell-b 1.0");
  /* Conflicts with the first: the second. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"picky\"]}", "picky 1.0, shell-b 1.0");
  /* Excluded first: the second. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"app\"],\"exclude\":[\"shell-a\"]}",
                   "app 2.1-1, libfoo 2.3, postfix-lite 1.0, prelib 1.0, shell-b 1.0");
  /* Two packages share one file with the same content: both go in. */
  assert_resolves (f, "{\"repos\":[\"REPO\"],\"install\":[\"twin-a\",\"twin-b\"]}",
                   "twin-a 1.0, twin-b 1.0");
}

static void
test_resolve_unsatisfiable (Fixture *f, gconstpointer data)
{
  const char *const conflicts[]
      = { "cannot install 'app', 'conflicting'",
          "package conflicting-1.0.all conflicts with app provided by app-", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"conflicting\"]}",
                        conflicts);
  const char *const breaks[]
      = { "cannot install 'app', 'breaker'",
          "package breaker-1.0.all conflicts with libfoo << 3 provided by libfoo-2.3.all",
          "requires libfoo >= 2, but none of the providers can be installed", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"breaker\"]}", breaks);
  const char *const missing[]
      = { "cannot install 'needs-missing'",
          "nothing provides nosuch-lib >= 1 needed by needs-missing-1.0.all", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"needs-missing\"]}", missing);
  const char *const unknown[]
      = { "cannot install 'nosuch'", "nothing provides requested nosuch", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"nosuch\"]}", unknown);
  const char *const version[]
      = { "cannot install 'app (>= 3)'", "package app >= 3 does not exist", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"app (>= 3)\"]}", version);
  /* Another architecture's package is not installable. */
  const char *const arch[] = { "nothing provides requested wrongarch", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"wrongarch\"]}", arch);
  /* An exclude that leaves a dependency unmet is named. */
  const char *const excluded[]
      = { "cannot install 'app (>= 2)'",
          "requires mail-transport-agent, but none of the providers can be installed",
          "(excluded: 'postfix-lite')", NULL };
  assert_unsatisfiable (
      f, "{\"repos\":[\"REPO\"],\"install\":[\"app (>= 2)\"],\"exclude\":[\"postfix-lite\"]}",
      excluded);
  /* Two problems, one line. */
  const char *const two[] = { "problem 1 of 2: ", "; and problem 2 of 2: ", NULL };
  assert_unsatisfiable (f, "{\"repos\":[\"REPO\"],\"install\":[\"nosuch\",\"needs-missing\"]}",
                        two);
}

static void
test_resolve_architecture (Fixture *f, gconstpointer data)
{
  /* With arm64, the arm64 package is the one to take, "all" ones too. */
  assert_resolves (
      f, "{\"repos\":[\"REPO\"],\"install\":[\"wrongarch\",\"prelib\"],\"architecture\":\"arm64\"}",
      "prelib 1.0, wrongarch 1.0");
}

static void
test_resolve_no_index (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = resolve (f, "{\"repos\":[\"/\"],\"install\":[\"app\"]}", &error);
  g_assert_null (got);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
  g_assert_cmpstr (error->message, ==,
                   "m.json: release.packages.repos[0]: no package index in '/' "
                   "(expected Packages, Packages.xz or Packages.gz)");
}

/* --- composing into the store --------------------------------------------------- */

static GenRelease *
compose (Fixture *f, GenStore *store, const char *packages_json, gboolean keep, GError **error)
{
  g_autoptr (GenManifest) m = manifest (f, packages_json);
  return gen_store_import (store, m, keep, NULL, NULL, NULL, error);
}

static GFile *
commit_root (GenStore *store, const char *checksum)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) root = NULL;
  g_assert_true (
      ostree_repo_read_commit (gen_store_get_repo (store), checksum, &root, NULL, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&root);
}

static GFileInfo *
query (GFile *root, const char *path)
{
  g_autoptr (GFile) f = g_file_resolve_relative_path (root, path);
  g_autoptr (GError) error = NULL;
  GFileInfo *info = g_file_query_info (f, "standard::*,unix::*",
                                       G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &error);
  if (!info)
    g_error ("%s: %s", path, error->message);
  return info;
}

static char *
contents (GFile *root, const char *path)
{
  g_autoptr (GFile) f = g_file_resolve_relative_path (root, path);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_load_contents (f, NULL, &text, NULL, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
assert_link (GFile *root, const char *path, const char *target)
{
  g_autoptr (GFileInfo) info = query (root, path);
  g_assert_cmpint (g_file_info_get_file_type (info), ==, G_FILE_TYPE_SYMBOLIC_LINK);
  g_assert_cmpstr (g_file_info_get_symlink_target (info), ==, target);
}

static guint
mode_of (GFile *root, const char *path)
{
  g_autoptr (GFileInfo) info = query (root, path);
  return g_file_info_get_attribute_uint32 (info, "unix::mode") & 07777;
}

static void
test_compose_tree (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = compose (f, f->store,
                                      "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"tools\",\"twin-"
                                      "a\",\"twin-b\",\"gen-test-kernel\"],"
                                      "\"setuid\":[\"/usr/bin/sgid-tool\"],\"version\":\"1.0\"}",
                                      TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->version, ==, "1.0");
  g_assert_cmpstr (r->kernel_version, ==, "6.1.0-compose");
  g_assert_cmpuint (r->n_packages, ==, 9);
  g_assert_cmpuint (r->n_fetched, ==, 0); /* a folder repository: nothing downloaded */
  g_assert_cmpstrv (r->scripts_skipped, ((const char *const[]){ "app", "postfix-lite", NULL }));
  g_assert_cmpstrv (r->setuid_stripped, ((const char *const[]){ "/usr/bin/suid-tool", NULL }));

  g_autoptr (GFile) root = commit_root (f->store, r->checksum);
  g_autofree char *app = contents (root, "usr/bin/app");
  g_assert_cmpstr (app, ==, "#!/bin/sh\n");
  g_assert_cmpuint (mode_of (root, "usr/bin/app"), ==, 0755);
  g_autofree char *conf = contents (root, "etc/app.conf");
  g_assert_cmpstr (conf, ==, "port=80\n");
  g_autoptr (GFileInfo) app_info = query (root, "usr/bin/app");
  g_assert_cmpuint (g_file_info_get_attribute_uint32 (app_info, "unix::uid"), ==, 0);
  g_assert_cmpuint (g_file_info_get_attribute_uint32 (app_info, "unix::gid"), ==, 0);

  /* /bin, /sbin and /lib are merged into /usr. */
  g_autofree char *sh = contents (root, "usr/bin/sh-a");
  g_assert_cmpstr (sh, ==, "shell-a 1.0 bin/sh-a\n");
  assert_link (root, "bin", "usr/bin");
  assert_link (root, "sbin", "usr/sbin");
  assert_link (root, "lib", "usr/lib");
  g_autoptr (GFile) lib64 = g_file_resolve_relative_path (root, "lib64");
  g_assert_false (g_file_query_exists (lib64, NULL)); /* no usr/lib64 */
  g_autofree char *helper = contents (root, "usr/lib/tools/helper");
  g_assert_cmpstr (helper, ==, "tools 1.0 lib/tools/helper\n");
  /* A relative link moved by the merge keeps its target, now absolute. */
  assert_link (root, "usr/lib/tools/to-share", "/usr/share/tools/data");
  assert_link (root, "usr/bin/tool-rel", "suid-tool");
  assert_link (root, "usr/bin/tool-abs", "/usr/bin/suid-tool");

  /* setuid is removed unless allowed; the sticky bit stays. */
  g_assert_cmpuint (mode_of (root, "usr/bin/suid-tool"), ==, 0755);
  g_assert_cmpuint (mode_of (root, "usr/bin/sgid-tool"), ==, 02755);
  g_assert_cmpuint (mode_of (root, "var/spool/tools"), ==, 01777);

  /* A hard link is the same object. */
  g_autoptr (GFile) data_file = g_file_resolve_relative_path (root, "usr/share/tools/data");
  g_autoptr (GFile) link_file = g_file_resolve_relative_path (root, "usr/share/tools/data-link");
  g_assert_true (ostree_repo_file_ensure_resolved (OSTREE_REPO_FILE (data_file), NULL));
  g_assert_true (ostree_repo_file_ensure_resolved (OSTREE_REPO_FILE (link_file), NULL));
  g_assert_cmpstr (ostree_repo_file_get_checksum (OSTREE_REPO_FILE (data_file)), ==,
                   ostree_repo_file_get_checksum (OSTREE_REPO_FILE (link_file)));

  /* The package list, as gen diff reads it. */
  g_autofree char *list = contents (root, GEN_COMPOSE_PACKAGES_FILE);
  g_assert_nonnull (strstr (list, "\"name\" : \"app\",\n      \"version\" : \"2.1-1\",\n      "
                                  "\"architecture\" : \"all\""));
  g_assert_null (strstr (list, "base-lite"));

  /* The commit records the compose. */
  g_autoptr (GVariant) commit = NULL;
  g_assert_true (
      ostree_repo_load_commit (gen_store_get_repo (f->store), r->checksum, &commit, NULL, &error));
  g_autoptr (GVariant) meta = g_variant_get_child_value (commit, 0);
  guint32 count = 0;
  g_assert_true (g_variant_lookup (meta, GEN_COMPOSE_META_PACKAGES, "u", &count));
  g_assert_cmpuint (count, ==, 9);
  g_assert_true (g_variant_lookup (meta, GEN_COMPOSE_META_INPUT, "&s", NULL));
  guint64 size = 0;
  g_assert_true (g_variant_lookup (meta, GEN_RELEASE_META_SIZE, "t", &size));
  g_assert_cmpuint (size, ==, r->size);
  g_assert_cmpuint (size, >, 100);
}

static void
test_determinism (Fixture *f, gconstpointer data)
{
  const char *set = "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"tools\",\"gen-test-kernel\"]}";
  const char *reordered
      = "{\"repos\":[\"REPO\"],\"install\":[\"gen-test-kernel\",\"tools\",\"app\"]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) a = compose (f, f->store, set, TRUE, &error);
  g_assert_no_error (error);

  /* Composed again from nothing, in another sysroot and another order. */
  g_autofree char *other_path = new_sysroot (f->dir, "other");
  g_autoptr (GenSysroot) other = gen_sysroot_open (other_path, &error);
  g_assert_no_error (error);
  g_autoptr (GenStore) other_store = gen_store_open (other, NULL, &error);
  g_autoptr (GenRelease) b = compose (f, other_store, reordered, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a->checksum, ==, b->checksum);

  /* The same store reuses the commit; another version is another commit. */
  g_autoptr (GenRelease) c = compose (f, f->store, reordered, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->checksum, ==, a->checksum);
  g_assert_cmpuint (c->n_packages, ==, a->n_packages);
  g_assert_cmpstrv (c->scripts_skipped, (const char *const *) a->scripts_skipped);
  g_autofree char *versioned = g_strdup ("{\"repos\":[\"REPO\"],\"install\":[\"app\",\"tools\","
                                         "\"gen-test-kernel\"],\"version\":\"2\"}");
  g_autoptr (GenRelease) d = compose (f, f->store, versioned, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d->checksum, !=, a->checksum);
  g_assert_cmpstr (d->version, ==, "2");
}

static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r
      = compose (f, f->store, "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"gen-test-kernel\"]}",
                 FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (gen_store_discard (f->store));
  g_autofree char *object
      = g_strdup_printf ("gen/repo/objects/%.2s/%s.commit", r->checksum, r->checksum + 2);
  g_assert_false (gen_exists_at (f->sysroot->dfd, object));
  g_assert_false (gen_exists_at (f->sysroot->dfd, "gen/repo/refs/heads/demo/release"));
  g_assert_false (gen_exists_at (f->sysroot->dfd, GEN_COMPOSE_CACHE_DIR));
}

/* A copy of the shared repository with @debs from it (and more files the
 * caller adds) under a new index. */
static char *
make_repo (Fixture *f, const char *name, const char *const *debs)
{
  g_autofree char *dir = g_build_filename (f->dir, name, NULL);
  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  for (const char *const *d = debs; *d; d++)
    {
      g_autofree char *src = g_build_filename (repo_dir, *d, NULL);
      const char *argv[] = { "cp", src, dir, NULL };
      run (argv);
    }
  return g_steal_pointer (&dir);
}

static void
index_repo (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("cd '%s' && dpkg-scanpackages -m . /dev/null > Packages "
                                          "2>/dev/null",
                                          dir);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  run (argv);
}

static GenRelease *
compose_from (Fixture *f, const char *dir, const char *install, GError **error)
{
  g_autofree char *json = g_strdup_printf (
      "{\"os\":\"demo\",\"release\":{\"packages\":{\"repos\":[\"%s\"],\"install\":%s}}}", dir,
      install);
  g_autoptr (GenManifest) m = gen_manifest_parse (json, strlen (json), "m.json", f->dir, error);
  g_assert_nonnull (m);
  return gen_store_import (f->store, m, TRUE, NULL, NULL, NULL, error);
}

static const struct
{
  const char *kind;
  const char *message;
} hostile[] = {
  { "dotdot", "member './../evil' climbs out with '..'" },
  { "nested-dotdot", "member './usr/../../evil' climbs out with '..'" },
  { "absolute", "member '/etc/evil' has an absolute path" },
  { "symlink-escape", "symlink './usr/share/escape' points outside the "
                      "tree ('../../../etc/passwd')" },
  { "hardlink-escape", "hard link target '../etc/passwd' climbs out with '..'" },
  { "hardlink-foreign", "hard link './usr/share/link' points at "
                        "'./usr/bin/app', which is not a file this package shipped before it" },
  { "device", "member './dev/null' is a device node, FIFO or socket, "
              "which a release may not hold" },
  { "fifo", "member './usr/share/fifo' is a device node, FIFO or "
            "socket, which a release may not hold" },
  { "not-utf8", "member './usr/share/caf\xef\xbf\xbd' is not valid UTF-8" },
  { "file-over-folder", "'/usr' is a folder, so it cannot be a file or link" },
};

static void
test_hostile (Fixture *f, gconstpointer data)
{
  const char *debs[] = { "app_2.1-1_all.deb", NULL };
  g_autofree char *dir = make_repo (f, "hostile", debs);
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "compose-hostile.py", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "python3");
  g_ptr_array_add (argv, script);
  g_ptr_array_add (argv, dir);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    g_ptr_array_add (argv, (char *) hostile[i].kind);
  g_ptr_array_add (argv, NULL);
  run ((const char *const *) argv->pdata);
  index_repo (dir);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_test_message ("%s", hostile[i].kind);
      g_autofree char *install = g_strdup_printf ("[\"hostile-%s\"]", hostile[i].kind);
      g_autoptr (GError) error = NULL;
      g_autoptr (GenRelease) r = compose_from (f, dir, install, &error);
      g_assert_null (r);
      g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
      g_autofree char *expected = g_strdup_printf ("package hostile-%s 1.0 (all): %s",
                                                   hostile[i].kind, hostile[i].message);
      g_assert_cmpstr (error->message, ==, expected);
      g_assert_false (gen_exists_at (f->sysroot->dfd, "gen/repo/refs/heads/demo/release"));
    }
  g_autofree char *evil = g_build_filename (f->dir, "evil", NULL);
  g_assert_false (g_file_test (evil, G_FILE_TEST_EXISTS));
}

static void
test_file_conflict (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = compose (
      f, f->store, "{\"repos\":[\"REPO\"],\"install\":[\"app\",\"clash\",\"gen-test-kernel\"]}",
      TRUE, &error);
  g_assert_null (r);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
  g_assert_cmpstr (
      error->message, ==,
      "package clash 1.0 (all): '/usr/bin/app' is also in package app, with other content");
}

static void
test_checksum_mismatch (Fixture *f, gconstpointer data)
{
  const char *debs[] = { "prelib_1.0_all.deb", "gen-test-kernel_6.1-1_all.deb", NULL };
  g_autofree char *dir = make_repo (f, "tampered", debs);
  index_repo (dir);
  /* Another prelib under the indexed name: the index's SHA256 no longer matches. */
  g_autofree char *cmd = g_strdup_printf (
      "'%s' '%s/other' prelib 1.0 -p usr/lib/prelib=changed && "
      "mv '%s/other/prelib_1.0_all.deb' '%s/'",
      g_test_get_filename (G_TEST_DIST, "compose-mkdeb.sh", NULL), f->dir, f->dir, dir);
  const char *argv[] = { "sh", "-c", cmd, NULL };
  run (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = compose_from (f, dir, "[\"prelib\",\"gen-test-kernel\"]", &error);
  g_assert_null (r);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
  g_autofree char *prefix = g_strdup_printf ("package prelib 1.0 (all): '%s/prelib_1.0_all.deb' "
                                             "does not match the index's SHA256 (index ",
                                             dir);
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("'%s' does not start with '%s'", error->message, prefix);
  g_assert_false (gen_exists_at (f->sysroot->dfd, "gen/repo/refs/heads/demo/release"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("gen-test-compose-repo-XXXXXX", NULL);
  repo_dir = g_build_filename (tmp, "repo", NULL);
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "compose-repo.sh", NULL);
  const char *build[] = { script, repo_dir, NULL };
  run (build);

  g_test_add ("/compose/manifest", Fixture, NULL, setup, test_manifest, teardown);
  g_test_add ("/compose/manifest-invalid", Fixture, NULL, setup, test_manifest_invalid, teardown);
  g_test_add ("/compose/resolve/relations", Fixture, NULL, setup, test_resolve_relations, teardown);
  g_test_add ("/compose/resolve/alternatives", Fixture, NULL, setup, test_resolve_alternatives,
              teardown);
  g_test_add ("/compose/resolve/unsatisfiable", Fixture, NULL, setup, test_resolve_unsatisfiable,
              teardown);
  g_test_add ("/compose/resolve/architecture", Fixture, NULL, setup, test_resolve_architecture,
              teardown);
  g_test_add ("/compose/resolve/no-index", Fixture, NULL, setup, test_resolve_no_index, teardown);
  g_test_add ("/compose/tree", Fixture, NULL, setup, test_compose_tree, teardown);
  g_test_add ("/compose/determinism", Fixture, NULL, setup, test_determinism, teardown);
  g_test_add ("/compose/dry-run", Fixture, NULL, setup, test_dry_run, teardown);
  g_test_add ("/compose/hostile", Fixture, NULL, setup, test_hostile, teardown);
  g_test_add ("/compose/file-conflict", Fixture, NULL, setup, test_file_conflict, teardown);
  g_test_add ("/compose/checksum-mismatch", Fixture, NULL, setup, test_checksum_mismatch, teardown);
  int status = g_test_run ();
  gen_rm_rf_at (AT_FDCWD, tmp, NULL);
  g_free (repo_dir);
  return status;
}
