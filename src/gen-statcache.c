#include "gen-statcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen-crash.h"
#include "gen-error.h"
#include "gen-sysroot.h"
#include "gen-util.h"

#define CACHE_DIR GEN_STATE_DIR "/cache/dirs"

/* The listings' hash.  It guards against accident, not attack: whoever can
 * set these stat fields can change the files themselves.  So SHA-1, as git's
 * index has, at twice SHA-256's speed: hashing is a sixth of the walk. */
#define LISTING_HASH G_CHECKSUM_SHA1
#define LISTING_HASH_LEN 20

/* One digest over a whole tree, made by a few threads at once: most of the
 * time is the kernel's, in fstatat, and a folder's listing does not depend
 * on any other's.  Each folder gets its own digest (its entries' names and
 * stat fields, sorted by name); the tree's digest is the top's entry then
 * every folder's path and digest, sorted by path.
 *
 * A thread reads a folder, then its subfolders one by one (depth first, as
 * a plain walk does).  When another thread is idle, or one more may be
 * started, a thread hands it the second half of the subfolders it has yet to
 * read, with a copy of their parent's fd.  So a hand-over happens when a
 * thread runs out of work, a few times per tree, not once per folder. */
typedef struct
{
  guint64 now_ns; /* taken before the first stat */
  gint spare; /* helpers that may still be started */
  GMutex lock;
  GCond cond;
  GQueue groups;       /* handed over, not yet taken */
  GPtrArray *helpers;  /* GThread */
  gint idle;           /* helpers waiting for a group */
  guint pending;       /* groups handed over or being read, plus the top */
  GHashTable *folders; /* path from the top → its listing's digest */
  gboolean racy;
  GError *error;
  gint failed; /* set with error: the others stop at their next folder */
} Walk;

/* A subfolder to read: its name in the parent, and what the parent's
 * listing saw of it. */
typedef struct
{
  char *name;
  dev_t dev;
  ino_t ino;
} Sub;

/* Subfolders [start, end) of the folder at @path, open as @dfd. */
typedef struct
{
  DIR *dir; /* the reader's own, or NULL for a group handed over */
  int dfd;
  char *path;
  GArray *subs;
  guint start, end;
} Group;

static void
sub_clear (gpointer data)
{
  g_free (((Sub *) data)->name);
}

static void
group_free (Group *g)
{
  if (g->dir)
    closedir (g->dir);
  else if (g->dfd >= 0)
    close (g->dfd);
  g_free (g->path);
  g_array_unref (g->subs);
  g_free (g);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* Adds one entry to @sum; TRUE if it changed too recently to be trusted. */
static gboolean
add_entry (GChecksum *sum, guint64 now_ns, const char *name, const struct stat *st)
{
  /* Fixed-width fields, so no two listings hash alike by accident. */
  guint64 fields[] = { st->st_mode,      st->st_uid,       st->st_gid, st->st_size,
                       gen_ns (&st->st_mtim), gen_ns (&st->st_ctim), st->st_ino, st->st_dev };
  g_checksum_update (sum, (const guchar *) name, strlen (name) + 1);
  g_checksum_update (sum, (const guchar *) fields, sizeof fields);
  return gen_stat_racy (st, now_ns);
}

static gboolean read_group (Walk *w, Group *g, GError **error);

/* Reads the folder at @path, open as @fd (taken), then its subfolders. */
static gboolean
read_folder (Walk *w, int fd, char *path, GError **error)
{
  DIR *d = fdopendir (fd);
  if (!d)
    {
      gen_throw_errno (error, "reading '%s'", path);
      close (fd);
      g_free (path);
      return FALSE;
    }
  g_autoptr (GStringChunk) chunk = g_string_chunk_new (4096);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  struct dirent *de;
  /* errno tells the end of the listing from a failure: reset before each call. */
  while ((errno = 0, de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      g_ptr_array_add (names, g_string_chunk_insert (chunk, de->d_name));
  if (errno != 0)
    {
      gen_throw_errno (error, "reading '%s'", path);
      closedir (d);
      g_free (path);
      return FALSE;
    }
  g_ptr_array_sort (names, compare_names);
  Group *g = g_new0 (Group, 1);
  g->dir = d;
  g->dfd = dirfd (d);
  g->path = path;
  g->subs = g_array_new (FALSE, FALSE, sizeof (Sub));
  g_array_set_clear_func (g->subs, sub_clear);
  g_autoptr (GChecksum) sum = g_checksum_new (LISTING_HASH);
  gboolean racy = FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      struct stat st;
      if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          gen_throw_errno (error, "reading '%s/%s'", path, name);
          group_free (g);
          return FALSE;
        }
      racy |= add_entry (sum, w->now_ns, name, &st);
      if (S_ISDIR (st.st_mode))
        {
          Sub sub = { g_strdup (name), st.st_dev, st.st_ino };
          g_array_append_val (g->subs, sub);
        }
    }
  guint8 *digest = g_malloc (LISTING_HASH_LEN);
  gsize len = LISTING_HASH_LEN;
  g_checksum_get_digest (sum, digest, &len);
  g_mutex_lock (&w->lock);
  w->racy |= racy;
  g_hash_table_insert (w->folders, g_strdup (path), digest);
  g_mutex_unlock (&w->lock);
  g->end = g->subs->len;
  gboolean ok = read_group (w, g, error);
  group_free (g);
  return ok;
}

static gpointer helper_main (gpointer data);

/* Hands the second half of @g's unread subfolders to an idle helper, or to
 * a new one while there may be more; FALSE when there is no one to take it.
 * Called with w->lock held. */
static gboolean
hand_over (Walk *w, Group *g)
{
  gboolean start = (guint) w->idle <= w->groups.length;
  if (start && w->spare == 0)
    return FALSE;
  int dfd = fcntl (g->dfd, F_DUPFD_CLOEXEC, 3);
  if (dfd < 0)
    return FALSE; /* out of fds: read on alone */
  if (start)
    {
      GThread *t = g_thread_try_new ("gen-statcache", helper_main, w, NULL);
      if (!t)
        {
          close (dfd);
          g_atomic_int_set (&w->spare, 0); /* no more threads to be had */
          return FALSE;
        }
      g_ptr_array_add (w->helpers, t);
      g_atomic_int_add (&w->spare, -1);
    }
  Group *half = g_new0 (Group, 1);
  half->dfd = dfd;
  half->path = g_strdup (g->path);
  half->subs = g_array_new (FALSE, FALSE, sizeof (Sub));
  g_array_set_clear_func (half->subs, sub_clear);
  guint mid = g->start + (g->end - g->start) / 2;
  for (guint i = mid; i < g->end; i++)
    {
      Sub sub = g_array_index (g->subs, Sub, i);
      sub.name = g_strdup (sub.name);
      g_array_append_val (half->subs, sub);
    }
  half->end = half->subs->len;
  g->end = mid;
  w->pending++;
  g_queue_push_tail (&w->groups, half);
  g_cond_signal (&w->cond);
  return TRUE;
}

/* Reads subfolders [start, end) of @g, giving some away on the way when
 * another thread could take them. */
static gboolean
read_group (Walk *w, Group *g, GError **error)
{
  for (; g->start < g->end; g->start++)
    {
      if (g_atomic_int_get (&w->failed))
        return TRUE; /* the walk's error is another thread's */
      if (g->end - g->start >= 2
          && (g_atomic_int_get (&w->idle) > 0 || g_atomic_int_get (&w->spare) > 0))
        {
          g_mutex_lock (&w->lock);
          hand_over (w, g);
          g_mutex_unlock (&w->lock);
        }
      Sub *sub = &g_array_index (g->subs, Sub, g->start);
      g_autofree char *path = g_strconcat (g->path, "/", sub->name, NULL);
      int fd = openat (g->dfd, sub->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return gen_throw_errno (error, "opening '%s'", path);
      struct stat st;
      if (fstat (fd, &st) < 0)
        {
          gen_throw_errno (error, "reading '%s'", path);
          close (fd);
          return FALSE;
        }
      if (st.st_dev != sub->dev || st.st_ino != sub->ino)
        {
          close (fd);
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "'%s' changed while it was read", path);
          return FALSE;
        }
      if (!read_folder (w, fd, g_steal_pointer (&path), error))
        return FALSE;
    }
  return TRUE;
}

/* Called with w->lock held: one handed-over group, or the top, is done. */
static void
group_done (Walk *w, GError *error)
{
  if (error && !w->error)
    {
      w->error = error;
      g_atomic_int_set (&w->failed, TRUE);
    }
  else if (error)
    g_error_free (error);
  if (--w->pending == 0)
    g_cond_broadcast (&w->cond);
}

static gpointer
helper_main (gpointer data)
{
  Walk *w = data;
  g_mutex_lock (&w->lock);
  for (;;)
    {
      Group *g = NULL;
      while (w->pending > 0 && !(g = g_queue_pop_head (&w->groups)))
        {
          g_atomic_int_inc (&w->idle);
          g_cond_wait (&w->cond, &w->lock);
          g_atomic_int_add (&w->idle, -1);
        }
      if (w->pending == 0)
        break;
      gboolean skip = w->error != NULL;
      g_mutex_unlock (&w->lock);
      GError *error = NULL;
      if (!skip)
        read_group (w, g, &error);
      group_free (g);
      g_mutex_lock (&w->lock);
      group_done (w, error);
    }
  g_mutex_unlock (&w->lock);
  return NULL;
}

char *
gen_statcache_digest (const char *path, gboolean *out_racy, GError **error)
{
  int dfd = gen_open_dir_at (AT_FDCWD, path, error);
  return dfd < 0 ? NULL : gen_statcache_digest_fd (dfd, path, out_racy, error);
}

char *
gen_statcache_digest_fd (int dfd, const char *path, gboolean *out_racy, GError **error)
{
  guint64 now_ns = gen_now_ns ();
  struct stat st;
  if (fstat (dfd, &st) < 0)
    {
      gen_throw_errno (error, "reading '%s'", path);
      close (dfd);
      return NULL;
    }
  g_autoptr (GChecksum) sum = g_checksum_new (LISTING_HASH);
  g_autoptr (GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) helpers = g_ptr_array_new ();
  Walk w = { .now_ns = now_ns,
             .folders = folders,
             .helpers = helpers,
             .spare = MIN (g_get_num_processors (), 4) - 1,
             .pending = 1 };
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  w.racy = add_entry (sum, w.now_ns, ".", &st);
  /* This thread reads the top, then helps with what is left. */
  GError *top_error = NULL;
  read_folder (&w, dfd, g_strdup ("."), &top_error);
  g_mutex_lock (&w.lock);
  group_done (&w, top_error);
  g_mutex_unlock (&w.lock);
  helper_main (&w);
  for (guint i = 0; i < helpers->len; i++)
    g_thread_join (helpers->pdata[i]);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
  if (w.error)
    {
      g_propagate_prefixed_error (error, w.error, "reading '%s': ", path);
      return NULL;
    }
  g_autofree const char **paths = (const char **) g_hash_table_get_keys_as_array (folders, NULL);
  qsort (paths, g_hash_table_size (folders), sizeof *paths, compare_names);
  for (guint i = 0; paths[i]; i++)
    {
      g_checksum_update (sum, (const guchar *) paths[i], strlen (paths[i]) + 1);
      g_checksum_update (sum, g_hash_table_lookup (folders, paths[i]), LISTING_HASH_LEN);
    }
  *out_racy = w.racy;
  return g_strdup (g_checksum_get_string (sum));
}

char *
gen_statcache_key (const char *path, const char *extra)
{
  g_autofree char *text = g_strdup_printf ("%s\n%s", path, extra ? extra : "");
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

char *
gen_statcache_lookup (int sysroot_dfd, const char *key, const char *digest)
{
  g_autofree char *path = g_build_filename (CACHE_DIR, key, NULL);
  g_autofree char *text = gen_read_file_at (sysroot_dfd, path, NULL, NULL);
  if (!text)
    return NULL;
  g_auto (GStrv) words = g_strsplit (g_strstrip (text), " ", -1);
  if (g_strv_length (words) != 2 || !g_str_equal (words[0], digest) || strlen (words[1]) != 64)
    return NULL;
  return g_strdup (words[1]);
}

gboolean
gen_statcache_store (int sysroot_dfd, const char *key, const char *digest, const char *checksum,
                     GError **error)
{
  if (!gen_exists_at (sysroot_dfd, CACHE_DIR)
      && (!gen_mkdir_p_at (sysroot_dfd, CACHE_DIR, 0755, error)
          || !gen_fsync_dir_at (sysroot_dfd, GEN_STATE_DIR, error)
          || !gen_fsync_dir_at (sysroot_dfd, GEN_STATE_DIR "/cache", error)))
    return FALSE;
  g_autofree char *path = g_build_filename (CACHE_DIR, key, NULL);
  g_autofree char *text = g_strdup_printf ("%s %s\n", digest, checksum);
  return gen_write_file_at (sysroot_dfd, path, text, strlen (text), 0644, error);
}

gboolean
gen_statcache_prune (int sysroot_dfd, gboolean (*exists) (const char *checksum, gpointer user_data),
                     gpointer user_data, gboolean dry_run, GPtrArray *removed, GError **error)
{
  int fd = openat (sysroot_dfd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? TRUE : gen_throw_errno (error, "opening '%s'", CACHE_DIR);
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return gen_throw_errno (error, "reading '%s'", CACHE_DIR);
    }
  g_autoptr (GPtrArray) stale = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      g_autofree char *path = g_build_filename (CACHE_DIR, de->d_name, NULL);
      g_autofree char *text = gen_read_file_at (sysroot_dfd, path, NULL, NULL);
      g_auto (GStrv) words = text ? g_strsplit (g_strstrip (text), " ", -1) : NULL;
      if (words && g_strv_length (words) == 2 && exists (words[1], user_data))
        continue;
      g_ptr_array_add (stale, g_steal_pointer (&path));
    }
  closedir (d);
  for (guint i = 0; dry_run && removed && i < stale->len; i++)
    g_ptr_array_add (removed, g_strdup (stale->pdata[i]));
  for (guint i = 0; !dry_run && i < stale->len; i++)
    {
      const char *path = stale->pdata[i];
      GEN_CRASH_POINT ("before removing", path);
      if (unlinkat (sysroot_dfd, path, 0) < 0 && errno != ENOENT)
        return gen_throw_errno (error, "removing '%s'", path);
      GEN_CRASH_POINT ("after removing", path);
      if (removed)
        g_ptr_array_add (removed, g_strdup (path));
    }
  return dry_run || stale->len == 0 || gen_fsync_dir_at (sysroot_dfd, CACHE_DIR, error);
}
