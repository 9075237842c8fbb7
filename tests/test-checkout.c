/* Unit tests for the threaded checkout (src/gen-checkout.c): the tree it makes
 * is the one a single ostree_repo_checkout_at() makes. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-checkout.h"
#include "gen-util.h"
#include "test-tree.h"

typedef struct
{
  char *dir;
  OstreeRepo *repo;
  char *commit;
} Fixture;

/* About 1,200 entries, so that a part holds at most 149 with 2 threads:
 * 16 folders of 50 files (parts), a folder its owner cannot write to and
 * one everybody can (each a part although larger, the first with a
 * subfolder too small to be one), a deep one, a few files at the top and in
 * /etc (the first pass), an empty folder and symlinks. */
static void
make_tree (const char *root)
{
  test_tree_write_files (root, "ro", 160);
  test_tree_write_files (root, "var/tmp", 150);
  test_tree_write_files (root, "ro/sub", 5);
  test_tree_write_files (root, "usr/lib/x/y/z", 40);
  test_tree_write_common (root);
}

/* Commits the folder @tree into @repo; its checksum.  The commit's
 * metadata records its folders (GEN_CHECKOUT_META_FOLDERS) as @folders, or
 * as gen_checkout_folders() gives them when @record. */
static char *
commit_tree_full (OstreeRepo *repo, const char *tree, gboolean record, GVariant *folders)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (ostree_repo_prepare_transaction (repo, NULL, NULL, &error));
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  g_autoptr (OstreeRepoCommitModifier) modifier = ostree_repo_commit_modifier_new (
      ostree_repo_get_mode (repo) == OSTREE_REPO_MODE_BARE
          ? 0
          : OSTREE_REPO_COMMIT_MODIFIER_FLAGS_CANONICAL_PERMISSIONS,
      NULL, NULL, NULL);
  g_assert_true (
      ostree_repo_write_dfd_to_mtree (repo, AT_FDCWD, tree, mtree, modifier, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GFile) root = NULL;
  char *commit = NULL;
  g_assert_true (ostree_repo_write_mtree (repo, mtree, &root, NULL, &error));
  g_autoptr (GVariant) recorded = NULL;
  if (record)
    folders = recorded = gen_checkout_folders (repo, OSTREE_REPO_FILE (root), NULL, &error);
  g_assert_no_error (error);
  g_auto (GVariantDict) meta;
  g_variant_dict_init (&meta, NULL);
  if (folders)
    g_variant_dict_insert_value (&meta, GEN_CHECKOUT_META_FOLDERS, folders);
  g_assert_true (ostree_repo_write_commit (repo, NULL, "test", NULL, g_variant_dict_end (&meta),
                                           OSTREE_REPO_FILE (root), &commit, NULL, &error));
  g_assert_true (ostree_repo_commit_transaction (repo, NULL, NULL, &error));
  g_assert_no_error (error);
  return commit;
}

static char *
commit_tree (OstreeRepo *repo, const char *tree)
{
  return commit_tree_full (repo, tree, FALSE, NULL);
}

static void
setup (Fixture *f, gconstpointer data)
{
  OstreeRepoMode mode = GPOINTER_TO_INT (data);
  if (mode == OSTREE_REPO_MODE_BARE && geteuid () != 0)
    return; /* the test skips itself */
  f->dir = g_dir_make_tmp ("gen-test-checkout-XXXXXX", NULL);
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  make_tree (tree);
  g_autoptr (GError) error = NULL;
  g_autofree char *repo_path = g_build_filename (f->dir, "repo", NULL);
  f->repo = ostree_repo_create_at (AT_FDCWD, repo_path, mode, NULL, NULL, &error);
  g_assert_no_error (error);
  f->commit = commit_tree (f->repo, tree);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    return;
  g_clear_object (&f->repo);
  g_autofree char *cmd = g_strdup_printf ("chmod -R u+w '%s'", f->dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->commit);
  g_free (f->dir);
}

/* Every entry of @a is in @b with the same type, mode, owner and target;
 * files are the same inode (both link the store's object), and folders
 * have the same mtime. */
static void
assert_same_tree (const char *a, const char *b)
{
  struct stat sa, sb;
  g_assert_no_errno (lstat (a, &sa));
  if (lstat (b, &sb) < 0)
    g_error ("'%s' is missing", b);
  if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
    g_error ("'%s': mode %o owner %u:%u, against %o %u:%u", b, sb.st_mode, sb.st_uid, sb.st_gid,
             sa.st_mode, sa.st_uid, sa.st_gid);
  if (S_ISREG (sa.st_mode))
    g_assert_cmpuint (sa.st_ino, ==, sb.st_ino);
  if (S_ISLNK (sa.st_mode))
    {
      g_autofree char *ta = g_file_read_link (a, NULL);
      g_autofree char *tb = g_file_read_link (b, NULL);
      g_assert_cmpstr (ta, ==, tb);
    }
  if (!S_ISDIR (sa.st_mode))
    return;
  if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)
    g_error ("folder '%s': mtime %ld, against %ld", b, (long) sb.st_mtim.tv_sec,
             (long) sa.st_mtim.tv_sec);
  g_autoptr (GDir) da = g_dir_open (a, 0, NULL);
  g_autoptr (GDir) db = g_dir_open (b, 0, NULL);
  guint na = 0, nb = 0;
  const char *name;
  while ((name = g_dir_read_name (da)))
    {
      g_autofree char *ca = g_build_filename (a, name, NULL);
      g_autofree char *cb = g_build_filename (b, name, NULL);
      assert_same_tree (ca, cb);
      na++;
    }
  while (g_dir_read_name (db))
    nb++;
  g_assert_cmpuint (na, ==, nb);
}

/* Checks out @commit on 2 threads into @name and compares it with a
 * checkout of the fixture's commit in one call (made once): every commit
 * here is of the same tree, their metadata aside.  The parts it used, and
 * whether it used the release's record (@out_recorded). */
static guint
check_out_cut (Fixture *f, const char *commit, const char *name, gboolean *out_recorded)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *one = g_build_filename (f->dir, "one", NULL);
  if (!g_file_test (one, G_FILE_TEST_EXISTS))
    {
      GenCheckoutOptions single = { .threads = 1 };
      g_assert_true (gen_checkout_at (f->repo, AT_FDCWD, one, f->commit, &single, NULL, &error));
      g_assert_cmpuint (single.out_parts, ==, 0);
    }
  g_autofree char *many = g_build_filename (f->dir, name, NULL);
  GenCheckoutOptions threaded = { .threads = 2, .min_entries = 100 };
  g_assert_true (gen_checkout_at (f->repo, AT_FDCWD, many, commit, &threaded, NULL, &error));
  g_assert_no_error (error);
  assert_same_tree (one, many);
  assert_same_tree (many, one);
  *out_recorded = threaded.out_recorded;
  return threaded.out_parts;
}

/* The parts of the test tree on 2 threads, 100 entries at least: the 16
 * data folders, usr/lib, var/tmp (not split: it would have no parts) and,
 * where the store keeps its 0555 (bare), ro (not split: ro/sub would be
 * left to the first pass).  bare-user-only commits folders 0755. */
static guint
tree_parts (gconstpointer data)
{
  return GPOINTER_TO_INT (data) == OSTREE_REPO_MODE_BARE ? 19 : 18;
}

static void
test_same_tree (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    {
      g_test_skip ("a bare store needs root");
      return;
    }
  gboolean recorded;
  g_assert_cmpuint (check_out_cut (f, f->commit, "many", &recorded), ==, tree_parts (data));
  g_assert_false (recorded);
}

/* A release that records its folders is cut as one that does not. */
static void
test_recorded (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    {
      g_test_skip ("a bare store needs root");
      return;
    }
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  g_autofree char *commit = commit_tree_full (f->repo, tree, TRUE, NULL);
  g_assert_cmpstr (commit, !=, f->commit);
  gboolean recorded;
  g_assert_cmpuint (check_out_cut (f, commit, "recorded", &recorded), ==, tree_parts (data));
  g_assert_true (recorded);
}

/* The record is what the cut follows: one that names /usr alone (and
 * says it cannot be split) gives one part, and the same tree. */
static void
test_recorded_followed (Fixture *f, gconstpointer data)
{
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  GVariant *folders = g_variant_new_parsed (
      "[('', uint32 0, uint64 1200, true), ('usr', 0, 1000, false)]");
  g_autofree char *commit = commit_tree_full (f->repo, tree, FALSE, g_variant_ref_sink (folders));
  g_variant_unref (folders);
  gboolean recorded;
  g_assert_cmpuint (check_out_cut (f, commit, "followed", &recorded), ==, 1);
  g_assert_true (recorded);
}

/* Commits the test tree with each of @records (GVariant text) as its
 * GEN_CHECKOUT_META_FOLDERS, and checks that the checkout leaves it aside:
 * it reads the folders, and cuts the tree as they give it. */
static void
assert_left_aside (Fixture *f, gconstpointer data, const char *const *records, guint n)
{
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GVariant) folders = g_variant_ref_sink (g_variant_new_parsed (records[i]));
      g_autofree char *commit = commit_tree_full (f->repo, tree, FALSE, folders);
      g_autofree char *name = g_strdup_printf ("left-aside-%u", i);
      gboolean recorded;
      g_assert_cmpuint (check_out_cut (f, commit, name, &recorded), ==, tree_parts (data));
      g_assert_false (recorded);
    }
}

/* A record that is not well formed is left aside. */
static void
test_recorded_malformed (Fixture *f, gconstpointer data)
{
  const char *const records[] = {
    "@a(sutb) []",
    "[('usr', uint32 0, uint64 1200, true)]",                          /* the top has a name */
    "[('', uint32 0, uint64 1200, true), ('usr', 1, 1000, false)]",  /* above itself */
    "[('', uint32 0, uint64 1200, true), ('..', 0, 1000, false)]",   /* climbs out */
    "[('', uint32 0, uint64 1200, true), ('usr/lib', 0, 800, false)]", /* two names */
  };
  assert_left_aside (f, data, records, G_N_ELEMENTS (records));
}

/* A well-formed record whose cut does not fit the tree is left aside too,
 * as a remote could serve one. */
static void
test_recorded_misfit (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    {
      g_test_skip ("a bare store needs root");
      return;
    }
  const char *const records[] = {
    "[('', uint32 0, uint64 1200, true), ('nosuch', 0, 1000, false)]", /* no such folder */
    "[('', uint32 0, uint64 1200, true), ('top', 0, 1000, false)]",    /* a file */
    "[('', uint32 0, uint64 1200, true), ('bin', 0, 1000, false)]",    /* a symlink */
    "[('', uint32 0, uint64 1200, true), ('usr', 0, 500, false), ('usr', 0, 500, false)]",
    /* a folder below etc that etc does not hold (etc split, as the record weighs it) */
    "[('', uint32 0, uint64 1200, true), ('etc', 0, 1000, true), ('nosuch', 1, 900, false)]",
    /* var/tmp is 01777 in a bare store: not to be split, whatever the record says
     * (bare-user-only commits it 0755, so this one is last and bare's alone) */
    "[('', uint32 0, uint64 1200, true), ('var', 0, 1000, true), ('tmp', 1, 900, true)]",
  };
  gboolean bare = GPOINTER_TO_INT (data) == OSTREE_REPO_MODE_BARE;
  assert_left_aside (f, data, records, G_N_ELEMENTS (records) - (bare ? 0 : 1));
}

/* Below min_entries, one call: nothing to cut. */
static void
test_small_tree (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dest = g_build_filename (f->dir, "small", NULL);
  GenCheckoutOptions options = { .threads = 2 };
  g_assert_true (gen_checkout_at (f->repo, AT_FDCWD, dest, f->commit, &options, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (options.out_parts, ==, 0);
  g_autofree char *file = g_build_filename (dest, "usr/share/data/d15/file-49", NULL);
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
}

/* A chain of 3,000 folders: its one part lies ~5,000 bytes down, deeper
 * than a path can name, and is checked out all the same. */
static void
test_deep (Fixture *f, gconstpointer data)
{
  g_autofree char *tree = g_build_filename (f->dir, "deep-tree", NULL);
  g_assert_no_errno (g_mkdir_with_parents (tree, 0755));
  test_tree_write_chain (tree, 3000);
  g_autofree char *commit = commit_tree (f->repo, tree);
  g_autoptr (GError) error = NULL;
  g_autofree char *dest = g_build_filename (f->dir, "deep", NULL);
  GenCheckoutOptions options = { .threads = 2, .min_entries = 100 };
  g_assert_true (gen_checkout_at (f->repo, AT_FDCWD, dest, commit, &options, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (options.out_parts, ==, 1);
  test_tree_assert_chain (dest, 3000);
}

/* A part that cannot be checked out fails the whole, with ostree's error
 * and the part named; the other thread stops. */
static void
test_part_fails (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) root = NULL;
  g_assert_true (ostree_repo_read_commit (f->repo, f->commit, &root, NULL, NULL, &error));
  g_autoptr (GFile) file = g_file_resolve_relative_path (root, "usr/share/data/d07/file-3");
  g_assert_true (ostree_repo_file_ensure_resolved (OSTREE_REPO_FILE (file), &error));
  const char *csum = ostree_repo_file_get_checksum (OSTREE_REPO_FILE (file));
  g_autofree char *object
      = g_strdup_printf ("%s/repo/objects/%.2s/%s.file", f->dir, csum, csum + 2);
  g_assert_no_errno (unlink (object));

  g_autofree char *dest = g_build_filename (f->dir, "broken", NULL);
  GenCheckoutOptions options = { .threads = 2, .min_entries = 100 };
  g_assert_false (gen_checkout_at (f->repo, AT_FDCWD, dest, f->commit, &options, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/usr/share/data/d07: "));
  g_assert_nonnull (strstr (error->message, csum));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gconstpointer user = GINT_TO_POINTER (OSTREE_REPO_MODE_BARE_USER_ONLY);
  gconstpointer bare = GINT_TO_POINTER (OSTREE_REPO_MODE_BARE);
  g_test_add ("/checkout/same-tree/bare-user-only", Fixture, user, setup, test_same_tree, teardown);
  g_test_add ("/checkout/same-tree/bare", Fixture, bare, setup, test_same_tree, teardown);
  g_test_add ("/checkout/recorded/bare-user-only", Fixture, user, setup, test_recorded, teardown);
  g_test_add ("/checkout/recorded/bare", Fixture, bare, setup, test_recorded, teardown);
  g_test_add ("/checkout/recorded-followed", Fixture, user, setup, test_recorded_followed,
              teardown);
  g_test_add ("/checkout/recorded-malformed", Fixture, user, setup, test_recorded_malformed,
              teardown);
  g_test_add ("/checkout/recorded-misfit/bare-user-only", Fixture, user, setup,
              test_recorded_misfit, teardown);
  g_test_add ("/checkout/recorded-misfit/bare", Fixture, bare, setup, test_recorded_misfit,
              teardown);
  g_test_add ("/checkout/small-tree", Fixture, user, setup, test_small_tree, teardown);
  g_test_add ("/checkout/deep", Fixture, user, setup, test_deep, teardown);
  g_test_add ("/checkout/part-fails", Fixture, user, setup, test_part_fails, teardown);
  return g_test_run ();
}
