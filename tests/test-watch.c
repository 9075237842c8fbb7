/* Unit tests for the release folder watcher (src/gen-watch.c): it answers
 * with the walk's digest while nothing changes, and stops answering at the
 * first change, whatever way the change is made. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-statcache.h"
#include "gen-util.h"
#include "gen-watch.h"
#include "test-tree.h"

typedef struct
{
  char *dir;      /* the temporary folder */
  char *tree;     /* dir/tree, the folder watched */
  int sysroot;    /* dir/sysroot, open */
  GThread *watcher;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-watch-XXXXXX", NULL);
  f->tree = g_build_filename (f->dir, "tree", NULL);
  for (guint i = 0; i < 10; i++)
    for (guint j = 0; j < 3; j++)
      {
        g_autofree char *rel = g_strdup_printf ("d%u/e%u/file", i, j);
        test_tree_write_file (f->tree, rel, 10, 0644);
      }
  test_tree_write_file (f->tree, "top", 3, 0644);
  g_autofree char *sysroot = g_build_filename (f->dir, "sysroot", NULL);
  g_assert_cmpint (g_mkdir (sysroot, 0755), ==, 0);
  f->sysroot = open (sysroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (f->sysroot, >=, 0);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->watcher)
    {
      gen_watch_stop (f->sysroot, NULL);
      g_thread_join (f->watcher);
    }
  close (f->sysroot);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->tree);
  g_free (f->dir);
}

static gpointer
serve (gpointer data)
{
  Fixture *f = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = gen_watch_serve (f->sysroot, f->tree, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return NULL;
}

/* Whether inotify sees the whole of the temporary folder's file system. */
static gboolean
watchable (Fixture *f)
{
  struct statfs sfs;
  g_assert_cmpint (statfs (f->dir, &sfs), ==, 0);
  if (sfs.f_type != 0xEF53 && sfs.f_type != 0x58465342 && sfs.f_type != 0x9123683E
      && sfs.f_type != 0x01021994 && sfs.f_type != 0xF2F52010)
    {
      g_test_skip ("the temporary folder is on a file system gen does not watch");
      return FALSE;
    }
  return TRUE;
}

/* Starts the watcher and waits until it answers: its walk done, and done
 * again 2 s later, since the tree was just written (racy). */
static gboolean
start (Fixture *f, char **out_digest)
{
  if (!watchable (f))
    return FALSE;
  f->watcher = g_thread_new ("watcher", serve, f);
  gboolean racy = TRUE;
  char *d = NULL;
  for (guint i = 0; i < 6000 && !(d = gen_watch_digest (f->sysroot, f->tree, &racy)); i++)
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
  if (!d)
    g_error ("the watcher did not answer within a minute");
  g_assert_false (racy);
  *out_digest = d;
  return TRUE;
}

/* The watcher has ended: it answers no more, and its thread returned. */
static void
assert_ended (Fixture *f)
{
  gboolean racy;
  g_assert_null (gen_watch_digest (f->sysroot, f->tree, &racy));
  g_thread_join (g_steal_pointer (&f->watcher));
}

static void
test_answers_the_walk (Fixture *f, gconstpointer data)
{
  g_autofree char *watched = NULL;
  if (!start (f, &watched))
    return;
  g_autoptr (GError) error = NULL;
  gboolean racy = TRUE;
  g_autofree char *walked = gen_statcache_digest (f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (watched, ==, walked);
  /* Reading the tree changes nothing. */
  g_autofree char *text = NULL;
  g_autofree char *path = g_build_filename (f->tree, "d3/e1/file", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_autofree char *again = gen_watch_or_walk (f->sysroot, f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, walked);
  /* A second watcher of the same folder leaves it to the first. */
  g_assert_true (gen_watch_serve (f->sysroot, f->tree, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *still = gen_watch_digest (f->sysroot, f->tree, &racy);
  g_assert_cmpstr (still, ==, walked);
}

/* Each way of changing the tree ends the watcher before the next answer. */
typedef void (*Change) (Fixture *f);

static void
change_write_in_place (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->tree, "d2/e2/file", NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (pwrite (fd, "S", 1, 0), ==, 1);
  close (fd);
}

static void
change_chmod (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->tree, "top", NULL);
  g_assert_cmpint (chmod (path, 0600), ==, 0);
}

static void
change_new_file (Fixture *f)
{
  test_tree_write_file (f->tree, "d9/e0/new", 3, 0644);
}

static void
change_remove (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->tree, "d0/e0/file", NULL);
  g_assert_cmpint (unlink (path), ==, 0);
}

static void
change_rename_out (Fixture *f)
{
  g_autofree char *from = g_build_filename (f->tree, "d1", NULL);
  g_autofree char *to = g_build_filename (f->dir, "d1", NULL);
  g_assert_cmpint (rename (from, to), ==, 0);
}

/* A link made before the watcher started: the write through it names
 * another folder, but the file's own watch sees it. */
static void
change_through_old_link (Fixture *f)
{
  g_autofree char *outside = g_build_filename (f->dir, "outside", NULL);
  int fd = open (outside, O_WRONLY | O_APPEND | O_CLOEXEC);
  g_assert_cmpint (write (fd, "x", 1), ==, 1);
  close (fd);
}

static void
test_change_ends_it (Fixture *f, gconstpointer data)
{
  Change change = (Change) data;
  g_autofree char *outside = g_build_filename (f->dir, "outside", NULL);
  g_autofree char *target = g_build_filename (f->tree, "d4/e0/file", NULL);
  g_assert_cmpint (link (target, outside), ==, 0);
  g_autofree char *before = NULL;
  if (!start (f, &before))
    return;
  change (f);
  assert_ended (f);
  gboolean racy;
  g_autoptr (GError) error = NULL;
  g_autofree char *after = gen_watch_or_walk (f->sysroot, f->tree, &racy, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, !=, before);
}

/* The path leads to another folder (a symlink moved, or a folder put in its
 * place): the watcher's answer is not taken. */
static void
test_other_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  if (!start (f, &before))
    return;
  g_autofree char *aside = g_build_filename (f->dir, "aside", NULL);
  g_autofree char *cmd = g_strdup_printf ("mv '%s' '%s' && cp -a '%s' '%s'", f->tree, aside, aside,
                                          f->tree);
  g_assert_cmpint (system (cmd), ==, 0);
  /* The move itself ended it. */
  assert_ended (f);
}

static void
test_stop (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  if (!start (f, &before))
    return;
  g_autoptr (GPtrArray) listed = gen_watch_list (f->sysroot);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpstr (listed->pdata[0], ==, f->tree);
  /* Stopping every watcher but this folder's leaves it. */
  gen_watch_stop (f->sysroot, f->tree);
  gboolean racy;
  g_autofree char *still = gen_watch_digest (f->sysroot, f->tree, &racy);
  g_assert_cmpstr (still, ==, before);
  gen_watch_stop (f->sysroot, NULL);
  assert_ended (f);
  g_autoptr (GPtrArray) none = gen_watch_list (f->sysroot);
  g_assert_cmpuint (none->len, ==, 0);
}

/* A folder on a file system whose changes inotify may not see (here
 * procfs; a network file system, FUSE, overlayfs) is refused. */
static void
test_refuses_other_fs (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int report = dup (STDERR_FILENO);
  g_assert_false (gen_watch_serve (f->sysroot, "/proc/sys", &report, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not on a local file system"));
  g_assert_cmpint (report, >=, 0); /* nothing reported: the caller says why */
  close (report);
  gboolean racy;
  g_assert_null (gen_watch_digest (f->sysroot, "/proc/sys", &racy));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define T(name, fn, data) g_test_add ("/watch/" name, Fixture, data, setup, fn, teardown)
  T ("answers-the-walk", test_answers_the_walk, NULL);
  T ("ends/write-in-place", test_change_ends_it, change_write_in_place);
  T ("ends/chmod", test_change_ends_it, change_chmod);
  T ("ends/new-file", test_change_ends_it, change_new_file);
  T ("ends/remove", test_change_ends_it, change_remove);
  T ("ends/rename-out", test_change_ends_it, change_rename_out);
  T ("ends/through-old-link", test_change_ends_it, change_through_old_link);
  T ("other-folder", test_other_folder, NULL);
  T ("stop", test_stop, NULL);
  T ("refuses-other-fs", test_refuses_other_fs, NULL);
  return g_test_run ();
}
