/* Unit tests for the stat cache (src/gen-statcache.c): the digest that
 * stands for a release folder, and the cache that maps it to a commit. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-statcache.h"
#include "gen-util.h"

typedef struct
{
  char *dir;  /* the temporary folder */
  char *tree; /* dir/tree, the folder digested */
} Fixture;

static void
write_at (Fixture *f, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (f->tree, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* A tree wide and deep enough that its folders are shared among threads:
 * 30 folders of 3 levels, each with a few files. */
static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-statcache-XXXXXX", NULL);
  f->tree = g_build_filename (f->dir, "tree", NULL);
  for (guint i = 0; i < 30; i++)
    for (guint j = 0; j < 3; j++)
      for (guint k = 0; k < 3; k++)
        {
          g_autofree char *rel = g_strdup_printf ("d%u/e%u/f%u/file-%u", i, j, k, i + j + k);
          write_at (f, rel, "some bytes\n");
        }
  write_at (f, "top", "top\n");
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->tree);
  g_free (f->dir);
}

static char *
digest (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  gboolean racy = FALSE;
  char *d = gen_statcache_digest (f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (d), ==, 40); /* SHA-1, in hex */
  return d;
}

static void
test_stable (Fixture *f, gconstpointer data)
{
  /* However the folders fall among the threads, the digest is the same. */
  g_autofree char *first = digest (f);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *again = digest (f);
      g_assert_cmpstr (again, ==, first);
    }
}

static void
set_mtime (const char *path, const struct stat *st)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
}

static void
test_changes (Fixture *f, gconstpointer data)
{
  g_autofree char *before = digest (f);
  g_autofree char *deep = g_build_filename (f->tree, "d7/e1/f2/file-10", NULL);

  /* Same size, same mtime, other bytes, written in place (the same inode,
   * and its folder untouched): only the ctime tells. */
  struct stat st, after;
  g_assert_cmpint (lstat (deep, &st), ==, 0);
  g_usleep (20 * 1000); /* past the clock tick that stamped the file (4 ms at HZ=250) */
  int fd = open (deep, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, "SOME BYTES\n", 11, 0), ==, 11);
  g_assert_cmpint (close (fd), ==, 0);
  set_mtime (deep, &st);
  g_assert_cmpint (lstat (deep, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, ==, st.st_ino);
  g_assert_cmpint (after.st_size, ==, st.st_size);
  g_assert_false (after.st_ctim.tv_sec == st.st_ctim.tv_sec
                  && after.st_ctim.tv_nsec == st.st_ctim.tv_nsec);
  g_autofree char *rewritten = digest (f);
  g_assert_cmpstr (rewritten, !=, before);

  /* A file added deep down. */
  write_at (f, "d29/e2/f0/new", "new\n");
  g_autofree char *added = digest (f);
  g_assert_cmpstr (added, !=, rewritten);

  /* Removed again: the folder's own mtime and ctime moved on, so the
   * digest is not the earlier one either. */
  g_autofree char *new_path = g_build_filename (f->tree, "d29/e2/f0/new", NULL);
  g_assert_cmpint (g_unlink (new_path), ==, 0);
  g_autofree char *removed = digest (f);
  g_assert_cmpstr (removed, !=, added);

  /* A file moved to a sibling folder under the same name. */
  g_autofree char *to = g_build_filename (f->tree, "d7/e1/f1/file-10", NULL);
  g_assert_cmpint (g_rename (deep, to), ==, 0);
  g_autofree char *moved = digest (f);
  g_assert_cmpstr (moved, !=, removed);

  /* A folder's mode alone. */
  g_autofree char *folder = g_build_filename (f->tree, "d3/e0", NULL);
  g_assert_cmpint (g_chmod (folder, 0700), ==, 0);
  g_autofree char *chmodded = digest (f);
  g_assert_cmpstr (chmodded, !=, moved);
}

static void
test_symlink_not_followed (Fixture *f, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (f->dir, "outside", NULL);
  g_assert_cmpint (g_mkdir (outside, 0755), ==, 0);
  g_autofree char *link = g_build_filename (f->tree, "d0/link", NULL);
  g_assert_cmpint (symlink (outside, link), ==, 0);
  g_autofree char *before = digest (f);
  g_autofree char *file = g_build_filename (outside, "x", NULL);
  g_assert_true (g_file_set_contents (file, "x\n", -1, NULL));
  g_autofree char *after = digest (f);
  g_assert_cmpstr (after, ==, before);
}

static void
test_racy (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean racy = FALSE;
  g_autofree char *fresh = gen_statcache_digest (f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_true (racy);
  /* Settled: nothing changed within the last two seconds. */
  g_usleep (2100 * 1000);
  g_autofree char *settled = gen_statcache_digest (f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_false (racy);
  g_assert_cmpstr (settled, ==, fresh);
  /* One file written deep down makes the whole tree racy again. */
  write_at (f, "d12/e0/f0/file-12", "other\n");
  g_autofree char *changed = gen_statcache_digest (f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_true (racy);
}

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean racy = FALSE;
  g_autofree char *path = g_build_filename (f->dir, "nowhere", NULL);
  g_autofree char *d = gen_statcache_digest (path, &racy, &error);
  g_assert_null (d);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "nowhere"));
}

static gboolean
only_c (const char *checksum, gpointer user_data)
{
  return checksum[0] == 'c';
}

static void
test_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, f->dir, &error);
  g_assert_cmpint (dfd, >=, 0);
  g_autofree char *key = gen_statcache_key (f->tree, "1.0\n0");
  g_autofree char *other_key = gen_statcache_key (f->tree, "2.0\n0");
  g_assert_cmpstr (key, !=, other_key);
  g_autofree char *d = digest (f);
  g_autofree char *commit = g_strnfill (64, 'c');
  g_assert_null (gen_statcache_lookup (dfd, key, d));
  g_assert_true (gen_statcache_store (dfd, key, d, commit, &error));
  g_assert_no_error (error);
  g_autofree char *hit = gen_statcache_lookup (dfd, key, d);
  g_assert_cmpstr (hit, ==, commit);
  g_autofree char *other_digest = g_strnfill (64, '0');
  g_assert_null (gen_statcache_lookup (dfd, key, other_digest));
  g_assert_null (gen_statcache_lookup (dfd, other_key, d));

  /* Pruning keeps the entries whose commit is still there. */
  g_autofree char *gone = g_strnfill (64, 'd');
  g_assert_true (gen_statcache_store (dfd, other_key, d, gone, &error));
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (gen_statcache_prune (dfd, only_c, NULL, FALSE, removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_nonnull (strstr (removed->pdata[0], other_key));
  g_autofree char *still = gen_statcache_lookup (dfd, key, d);
  g_assert_cmpstr (still, ==, commit);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/statcache/stable", Fixture, NULL, setup, test_stable, teardown);
  g_test_add ("/statcache/changes", Fixture, NULL, setup, test_changes, teardown);
  g_test_add ("/statcache/symlink-not-followed", Fixture, NULL, setup, test_symlink_not_followed,
              teardown);
  g_test_add ("/statcache/racy", Fixture, NULL, setup, test_racy, teardown);
  g_test_add ("/statcache/missing", Fixture, NULL, setup, test_missing, teardown);
  g_test_add ("/statcache/cache", Fixture, NULL, setup, test_cache, teardown);
  return g_test_run ();
}
