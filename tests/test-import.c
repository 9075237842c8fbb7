/* Unit tests for the threaded import (src/gen-import.c): the tree it writes
 * is the one a single ostree_repo_write_dfd_to_mtree() writes, object for
 * object, and the filter sees the same paths. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-import.h"
#include "gen-util.h"
#include "test-tree.h"

typedef struct
{
  char *dir;
  char *tree;
  OstreeRepoMode mode;
} Fixture;

/* 1,057 entries: 16 folders of 50 files, one of 150, one of 40 deep down, a
 * 0555 folder, two files of 1 MiB (weighing 17 each), a few files at the
 * top and in /etc, an empty folder and symlinks. */
static void
make_tree (const char *root)
{
  test_tree_write_files (root, "var/tmp", 150);
  test_tree_write_files (root, "usr/lib/x/y/z", 40);
  test_tree_write_files (root, "ro", 30);
  test_tree_write_file (root, "usr/lib/big/one", 1 << 20, 0644);
  test_tree_write_file (root, "usr/lib/big/two", 1 << 20, 0644);
  test_tree_write_common (root);
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->mode = GPOINTER_TO_INT (data);
  if (f->mode == OSTREE_REPO_MODE_BARE && geteuid () != 0)
    return; /* the test skips itself */
  f->dir = g_dir_make_tmp ("gen-test-import-XXXXXX", NULL);
  f->tree = g_build_filename (f->dir, "tree", NULL);
  make_tree (f->tree);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    return;
  g_autofree char *cmd = g_strdup_printf ("chmod -R u+w '%s'", f->dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->tree);
  g_free (f->dir);
}

typedef struct
{
  GPtrArray *paths; /* every path the filter saw */
  const char *const *skip;
  gint inside; /* calls under way: never more than one */
} Seen;

static OstreeRepoCommitFilterResult
record (OstreeRepo *repo, const char *path, GFileInfo *info, gpointer user_data)
{
  Seen *seen = user_data;
  g_assert_cmpint (g_atomic_int_add (&seen->inside, 1), ==, 0);
  g_ptr_array_add (seen->paths, g_strdup (path));
  gboolean skip = seen->skip && g_strv_contains (seen->skip, path);
  g_atomic_int_add (&seen->inside, -1);
  return skip ? OSTREE_REPO_COMMIT_FILTER_SKIP : OSTREE_REPO_COMMIT_FILTER_ALLOW;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

typedef struct
{
  char *tree; /* the root's dirtree checksum */
  char *meta; /* and dirmeta */
  GPtrArray *paths;
  guint parts;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->tree);
  g_free (r->meta);
  g_ptr_array_unref (r->paths);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

/* Imports the tree into a new store (its own, so that no object of another
 * import hides one missing) and checks that every object the commit needs
 * is there. */
static Result
import (Fixture *f, const char *name, guint threads, guint64 min_weight, const char *const *skip)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr (OstreeRepo) repo = ostree_repo_create_at (AT_FDCWD, path, f->mode, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ostree_repo_prepare_transaction (repo, NULL, NULL, &error));
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  Seen seen = { g_ptr_array_new_with_free_func (g_free), skip, 0 };
  GenImportOptions options = { .threads = threads, .min_weight = min_weight };
  OstreeRepoCommitModifierFlags flags
      = f->mode == OSTREE_REPO_MODE_BARE ? 0
                                         : OSTREE_REPO_COMMIT_MODIFIER_FLAGS_CANONICAL_PERMISSIONS;
  g_assert_true (
      gen_import_dir (repo, f->tree, mtree, flags, record, &seen, &options, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GFile) root = NULL;
  g_assert_true (ostree_repo_write_mtree (repo, mtree, &root, NULL, &error));
  g_autofree char *commit = NULL;
  g_assert_true (ostree_repo_write_commit_with_time (
      repo, NULL, "test", NULL, NULL, OSTREE_REPO_FILE (root), 0, &commit, NULL, &error));
  g_assert_true (ostree_repo_commit_transaction (repo, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (GHashTable) reachable = NULL;
  g_assert_true (ostree_repo_traverse_commit (repo, commit, 0, &reachable, NULL, &error));
  g_assert_no_error (error);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, reachable);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const char *csum;
      OstreeObjectType type;
      ostree_object_name_deserialize (key, &csum, &type);
      gboolean have = FALSE;
      g_assert_true (ostree_repo_has_object (repo, type, csum, &have, NULL, &error));
      if (!have)
        g_error ("%s: object %s.%s is missing", name, csum, ostree_object_type_to_string (type));
    }

  g_ptr_array_sort (seen.paths, compare_strings);
  Result r = { g_strdup (ostree_repo_file_tree_get_contents_checksum (OSTREE_REPO_FILE (root))),
               g_strdup (ostree_repo_file_tree_get_metadata_checksum (OSTREE_REPO_FILE (root))),
               seen.paths, options.out_parts };
  return r;
}

/* The same tree, and the filter asked about the same paths, as often (a
 * folder twice); but @b may have asked more below a folder in @skip. */
static void
assert_same (const Result *a, const Result *b, const char *const *skip)
{
  g_assert_cmpstr (a->tree, ==, b->tree);
  g_assert_cmpstr (a->meta, ==, b->meta);
  guint i = 0, j = 0;
  while (i < a->paths->len || j < b->paths->len)
    {
      const char *pa = i < a->paths->len ? a->paths->pdata[i] : NULL;
      const char *pb = j < b->paths->len ? b->paths->pdata[j] : NULL;
      if (pa && pb && g_str_equal (pa, pb))
        {
          i++, j++;
          continue;
        }
      g_assert_nonnull (pb);
      gboolean below = FALSE;
      for (guint k = 0; skip && skip[k]; k++)
        below |= g_str_equal (pb, skip[k])
                 || (g_str_has_prefix (pb, skip[k]) && pb[strlen (skip[k])] == '/');
      if (!below)
        g_error ("asked about '%s' against '%s'", pb, pa ? pa : "nothing");
      j++;
    }
}

static void
test_same_tree (Fixture *f, gconstpointer data)
{
  if (!f->dir)
    {
      g_test_skip ("a bare store needs root");
      return;
    }
  g_auto (Result) one = import (f, "one", 1, 0, NULL);
  g_auto (Result) many = import (f, "many", 2, 100, NULL);
  g_assert_cmpuint (one.parts, ==, 0);
  /* 1,057 entries weighing 1,089 (each 1 MiB file 17), so a part weighs at
   * most 136: the 16 data folders, usr/lib (79) and ro (31).  /, usr,
   * usr/share, usr/share/data and var/tmp (151, but no folder in it) are
   * split; etc (3) and var/empty stay in the first pass. */
  g_assert_cmpuint (many.parts, ==, 18);
  assert_same (&one, &many, NULL);
  /* Every entry, each of the 30 folders twice but the top. */
  g_assert_cmpuint (one.paths->len, ==, 1057 + 29);
}

/* What the filter leaves out is left out the same way, be it a part, a file
 * in a part or in the first pass, or a folder above parts. */
static void
assert_filter_skips (Fixture *f, const char *const *skip, const char *gone)
{
  g_auto (Result) one = import (f, "one", 1, 0, skip);
  g_auto (Result) many = import (f, "many", 2, 100, skip);
  g_assert_cmpuint (many.parts, ==, 18);
  assert_same (&one, &many, skip);
  g_assert_false (g_ptr_array_find_with_equal_func (one.paths, gone, g_str_equal, NULL));
}

static void
test_filter_skips_parts (Fixture *f, gconstpointer data)
{
  const char *const skip[]
      = { "/usr/share/data/d03", "/usr/lib", "/var/tmp/file-5", "/ro/file-1", "/etc/shadow", NULL };
  assert_filter_skips (f, skip, "/usr/lib/big/one");
}

static void
test_filter_skips_split (Fixture *f, gconstpointer data)
{
  const char *const skip[] = { "/usr/share/data", NULL };
  assert_filter_skips (f, skip, "/usr/share/data/d00");
}

/* A chain of 3,000 folders "d" holding one file, beside the tree: the
 * whole weighs ~4,100, so the chain is split down to where ~500 are left
 * and its parts lie ~5,000 bytes down, deeper than a path can name. */
static void
test_deep (Fixture *f, gconstpointer data)
{
  test_tree_write_chain (f->tree, 3000);
  g_auto (Result) one = import (f, "one", 1, 0, NULL);
  g_auto (Result) many = import (f, "many", 2, 100, NULL);
  g_assert_cmpuint (many.parts, >, 0);
  assert_same (&one, &many, NULL);
  gsize deepest = 0;
  for (guint i = 0; i < many.paths->len; i++)
    deepest = MAX (deepest, strlen (many.paths->pdata[i]));
  g_assert_cmpuint (deepest, >, PATH_MAX);
}

/* Below min_weight, one call. */
static void
test_small_tree (Fixture *f, gconstpointer data)
{
  g_auto (Result) one = import (f, "one", 1, 0, NULL);
  g_auto (Result) small = import (f, "small", 2, 0, NULL);
  g_assert_cmpuint (small.parts, ==, 0);
  assert_same (&one, &small, NULL);
}

/* A part that cannot be written fails the whole, with ostree's error and
 * the part named. */
static void
test_part_fails (Fixture *f, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (f->tree, "usr/share/data/d07/fifo", NULL);
  g_assert_no_errno (mkfifo (fifo, 0644));
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "broken", NULL);
  g_autoptr (OstreeRepo) repo = ostree_repo_create_at (AT_FDCWD, path, f->mode, NULL, NULL, &error);
  g_assert_true (ostree_repo_prepare_transaction (repo, NULL, NULL, &error));
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  GenImportOptions options = { .threads = 2, .min_weight = 100 };
  g_assert_false (gen_import_dir (repo, f->tree, mtree, 0, NULL, NULL, &options, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "usr/share/data/d07: "));
  g_assert_nonnull (strstr (error->message, "fifo"));
  g_assert_true (ostree_repo_abort_transaction (repo, NULL, NULL));
}

static void
drop_debug (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* ostree_repo_traverse_commit() names every object at debug level. */
  g_log_set_handler ("OSTree", G_LOG_LEVEL_DEBUG, drop_debug, NULL);
  gconstpointer user = GINT_TO_POINTER (OSTREE_REPO_MODE_BARE_USER_ONLY);
  gconstpointer bare = GINT_TO_POINTER (OSTREE_REPO_MODE_BARE);
  g_test_add ("/import/same-tree/bare-user-only", Fixture, user, setup, test_same_tree, teardown);
  g_test_add ("/import/same-tree/bare", Fixture, bare, setup, test_same_tree, teardown);
  g_test_add ("/import/filter-skips/parts", Fixture, user, setup, test_filter_skips_parts,
              teardown);
  g_test_add ("/import/filter-skips/split", Fixture, user, setup, test_filter_skips_split,
              teardown);
  g_test_add ("/import/small-tree", Fixture, user, setup, test_small_tree, teardown);
  g_test_add ("/import/deep", Fixture, user, setup, test_deep, teardown);
  g_test_add ("/import/part-fails", Fixture, user, setup, test_part_fails, teardown);
  return g_test_run ();
}
