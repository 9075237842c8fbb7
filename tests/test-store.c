/* Unit tests for the release store and switching (src/gen-store.c, gen-switch.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-checkout.h"
#include "gen-error.h"
#include "gen-store.h"
#include "gen-switch.h"
#include "gen-util.h"

typedef struct {
  char *dir;
  char *sysroot_path;
  GenSysroot *sysroot;
  GenStore *store;
} Fixture;

static void
make_release (Fixture *f, const char *name, const char *version)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "make-release.sh", NULL);
  g_autofree char *dir = g_build_filename (f->dir, name, NULL);
  const char *argv[] = { script, dir, version, "30", NULL };
  gint status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, NULL, NULL, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-store-XXXXXX", NULL);
  f->sysroot_path = g_build_filename (f->dir, "sysroot", NULL);
  g_assert_no_errno (g_mkdir_with_parents (f->sysroot_path, 0755));
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_store_init (f->sysroot_path, "demo", NULL, &error));
  g_assert_no_error (error);
  f->sysroot = gen_sysroot_open (f->sysroot_path, &error);
  g_assert_no_error (error);
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
  f->store = gen_store_open (f->sysroot, NULL, &error);
  g_assert_no_error (error);
  make_release (f, "r1", "1.0");
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

static GenManifest *
manifest (Fixture *f, const char *release_json, const char *config_json)
{
  g_autofree char *json = g_strdup_printf ("{\"os\":\"demo\",\"release\":%s,\"config\":%s}",
                                           release_json, config_json ? config_json : "{}");
  g_autofree char *path = g_build_filename (f->dir, "m.json", NULL);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  g_autoptr (GError) error = NULL;
  GenManifest *m = gen_manifest_load (path, &error);
  g_assert_no_error (error);
  return m;
}

static GenRelease *
import (Fixture *f, const char *release_json, gboolean keep, GError **error)
{
  g_autoptr (GenManifest) m = manifest (f, release_json, NULL);
  return gen_store_import (f->store, m, keep, NULL, NULL, NULL, error);
}

static void
test_import_dir (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) a = import (f, "{\"dir\":\"r1\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (a->checksum), ==, 64);
  g_assert_cmpstr (a->version, ==, "1.0");
  g_assert_cmpstr (a->kernel_version, ==, "6.1.0-gen-demo");
  g_assert_true (a->has_initrd);
  g_assert_cmpuint (strlen (a->kernel_id), ==, 16);

  /* The commit records the tree's folders for the checkout: the top first,
   * weighing every entry of the tree, itself included. */
  g_autoptr (GVariant) commit = NULL;
  g_assert_true (ostree_repo_load_variant (gen_store_get_repo (f->store),
                                           OSTREE_OBJECT_TYPE_COMMIT, a->checksum, &commit,
                                           &error));
  g_autoptr (GVariant) commit_meta = g_variant_get_child_value (commit, 0);
  g_autoptr (GVariant) folders = g_variant_lookup_value (
      commit_meta, GEN_CHECKOUT_META_FOLDERS, G_VARIANT_TYPE (GEN_CHECKOUT_FOLDERS_TYPE));
  g_assert_nonnull (folders);
  const char *top_name;
  guint32 top_parent;
  guint64 top_weight;
  gboolean top_splittable;
  g_variant_get_child (folders, 0, "(&sutb)", &top_name, &top_parent, &top_weight,
                       &top_splittable);
  g_autofree char *count = NULL;
  g_autofree char *find = g_strdup_printf ("sh -c 'find \"%s/r1\" | wc -l'", f->dir);
  g_assert_true (g_spawn_command_line_sync (find, &count, NULL, NULL, &error));
  g_assert_cmpstr (top_name, ==, "");
  g_assert_cmpuint (top_parent, ==, 0);
  g_assert_cmpuint (top_weight, ==, g_ascii_strtoull (count, NULL, 10));
  g_assert_true (top_splittable); /* 0755 */

  /* The same tree, copied elsewhere, is the same release. */
  g_autofree char *r1 = g_build_filename (f->dir, "r1", NULL);
  g_autofree char *copy = g_build_filename (f->dir, "copy", NULL);
  const char *argv[] = { "cp", "-a", r1, copy, NULL };
  gint status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_autoptr (GenRelease) b = import (f, "{\"dir\":\"copy\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a->checksum, ==, b->checksum);

  /* The manifest's version wins over os-release, and is part of the commit. */
  g_autoptr (GenRelease) c = import (f, "{\"dir\":\"r1\",\"version\":\"1.0-custom\"}", TRUE, &error);
  g_assert_cmpstr (c->version, ==, "1.0-custom");
  g_assert_cmpstr (c->checksum, !=, a->checksum);

  /* A ref resolves to the same release with its recorded metadata. */
  g_autoptr (GenRelease) d = import (f, "{\"ref\":\"demo/release\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d->checksum, ==, c->checksum);
  g_assert_cmpstr (d->version, ==, "1.0-custom");
  g_assert_cmpstr (d->kernel_id, ==, a->kernel_id);

  g_autoptr (GenRelease) e = import (f, "{\"ref\":\"no/such\"}", TRUE, &error);
  g_assert_null (e);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
  g_assert_true (strstr (error->message, "'no/such' is not a ref or commit in the store") != NULL);
}

static void
run_tar (Fixture *f, const char *name, const char *flags)
{
  g_autofree char *tree = g_build_filename (f->dir, "r1", NULL);
  g_autofree char *out = g_build_filename (f->dir, name, NULL);
  const char *argv[] = { "tar", "-C", tree, flags, out, ".", NULL };
  gint status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
test_import_archive (Fixture *f, gconstpointer data)
{
  run_tar (f, "r1.tar.gz", "-czf");
  run_tar (f, "r1.tar.xz", "-cJf");
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) dir = import (f, "{\"dir\":\"r1\"}", TRUE, &error);
  g_autoptr (GenRelease) gz = import (f, "{\"archive\":\"r1.tar.gz\"}", TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (GenRelease) xz = import (f, "{\"archive\":\"r1.tar.xz\"}", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gz->checksum, ==, xz->checksum);
  g_assert_cmpstr (gz->checksum, ==, dir->checksum);
  g_assert_cmpstr (gz->version, ==, "1.0");
}

static void
test_import_no_kernel (Fixture *f, gconstpointer data)
{
  g_autofree char *empty = g_build_filename (f->dir, "nokernel/usr/bin", NULL);
  g_assert_no_errno (g_mkdir_with_parents (empty, 0755));
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = import (f, "{\"dir\":\"nokernel\"}", TRUE, &error);
  g_assert_null (r);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE);
  g_assert_cmpstr (error->message, ==,
                   "the release has no kernel (expected usr/lib/modules/<version>/vmlinuz)");
  g_autofree char *ref = g_build_filename (f->sysroot_path, "gen/repo/refs/heads/demo/release", NULL);
  g_assert_false (g_file_test (ref, G_FILE_TEST_EXISTS));
}

static void
test_dry_run_keeps_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = import (f, "{\"dir\":\"r1\"}", FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GenRelease) again = import (f, "{\"ref\":\"demo/release\"}", TRUE, &error);
  g_assert_null (again);
  g_clear_error (&error);
  g_autofree char *object = g_strdup_printf ("%s/gen/repo/objects/%.2s/%s.commit",
                                             f->sysroot_path, r->checksum, r->checksum + 2);
  g_assert_false (g_file_test (object, G_FILE_TEST_EXISTS));
}

static void
test_deploy_hardlinks (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = import (f, "{\"dir\":\"r1\"}", TRUE, &error);
  gboolean made;
  g_assert_true (gen_store_deploy (f->store, r, &made, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (made);
  g_autofree char *deploy = gen_sysroot_deploy_path (r->checksum);
  g_autofree char *app = g_build_filename (deploy, "usr/bin/demo-app", NULL);
  struct stat st;
  g_assert_no_errno (fstatat (f->sysroot->dfd, app, &st, 0));
  g_assert_cmpuint (st.st_nlink, >=, 2); /* shared with the store's object */
  g_assert_cmpuint (st.st_mode & 0777, ==, 0755);
  g_assert_true (gen_store_deploy (f->store, r, &made, NULL, &error));
  g_assert_false (made);

  g_autofree char *kdir = NULL;
  g_assert_true (gen_store_install_kernel (f->store, r, "demo", &kdir, &error));
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("demo/6.1.0-gen-demo-%s", r->kernel_id);
  g_assert_cmpstr (kdir, ==, expected);
  g_autofree char *vmlinuz = g_strdup_printf ("boot/%s/vmlinuz", kdir);
  g_autofree char *text = gen_read_file_at (f->sysroot->dfd, vmlinuz, NULL, &error);
  g_assert_cmpstr (text, ==, "not a real kernel: 6.1.0-gen-demo\n");
}

static void
test_switch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m1
      = manifest (f, "{\"dir\":\"r1\"}", "{\"files\":{\"/etc/a\":{\"content\":\"one\"}}}");
  g_autoptr (GenSwitchResult) s1 = gen_switch (f->sysroot, m1, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s1->created);
  g_assert_cmpuint (s1->generation->number, ==, 1);
  g_assert_cmpuint (f->sysroot->current, ==, 1);

  /* Unchanged: nothing new. */
  g_autoptr (GenSwitchResult) s2 = gen_switch (f->sysroot, m1, 0, NULL, NULL, NULL, &error);
  g_assert_false (s2->created);
  g_assert_false (s2->activated);
  g_assert_cmpuint (f->sysroot->last, ==, 1);

  /* Config only, boot default only. */
  g_autoptr (GenManifest) m2
      = manifest (f, "{\"dir\":\"r1\"}", "{\"files\":{\"/etc/a\":{\"content\":\"two\"},\"/etc/b\":{\"content\":\"\"}}}");
  g_autoptr (GenSwitchResult) s3
      = gen_switch (f->sysroot, m2, GEN_SWITCH_BOOT_ONLY, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s3->created);
  g_assert_false (s3->new_release);
  g_assert_false (s3->new_checkout);
  g_assert_cmpuint (s3->config_changes->len, ==, 2);
  GenOverlayChange *c0 = s3->config_changes->pdata[0], *c1 = s3->config_changes->pdata[1];
  g_assert_cmpint (c0->kind, ==, GEN_OVERLAY_MODIFIED);
  g_assert_cmpstr (c0->path, ==, "/etc/a");
  g_assert_cmpint (c1->kind, ==, GEN_OVERLAY_ADDED);
  g_assert_cmpuint (f->sysroot->current, ==, 1);
  g_assert_cmpuint (f->sysroot->default_gen, ==, 2);

  /* Dry run: computes generation 3, writes nothing. */
  g_autoptr (GenManifest) m3
      = manifest (f, "{\"dir\":\"r1\"}", "{\"files\":{\"/etc/a\":{\"content\":\"three\"}}}");
  g_autoptr (GenSwitchResult) s4
      = gen_switch (f->sysroot, m3, GEN_SWITCH_DRY_RUN, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s4->created);
  g_assert_cmpuint (s4->generation->number, ==, 3);
  g_assert_cmpuint (f->sysroot->last, ==, 2);
  g_assert_false (gen_exists_at (f->sysroot->dfd, "gen/generations/3"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/import-dir", Fixture, NULL, setup, test_import_dir, teardown);
  g_test_add ("/store/import-archive", Fixture, NULL, setup, test_import_archive, teardown);
  g_test_add ("/store/import-no-kernel", Fixture, NULL, setup, test_import_no_kernel, teardown);
  g_test_add ("/store/dry-run", Fixture, NULL, setup, test_dry_run_keeps_nothing, teardown);
  g_test_add ("/store/deploy", Fixture, NULL, setup, test_deploy_hardlinks, teardown);
  g_test_add ("/switch/switch", Fixture, NULL, setup, test_switch, teardown);
  return g_test_run ();
}
