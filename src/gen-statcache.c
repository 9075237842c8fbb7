#include "gen-statcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen-crash.h"
#include "gen-sysroot.h"
#include "gen-util.h"

#define CACHE_DIR GEN_STATE_DIR "/cache/dirs"
#define RACY_NS (2 * G_GINT64_CONSTANT (1000000000))

typedef struct {
  GChecksum *sum;
  gint64 now_ns;
  gboolean racy;
} Walk;

static gint64
ns (struct timespec ts)
{
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static void
add_entry (Walk *w, const char *rel, const struct stat *st)
{
  /* Fixed-width fields, so no two listings hash alike by accident. */
  guint64 fields[] = { st->st_mode, st->st_uid, st->st_gid, st->st_size, ns (st->st_mtim),
                       ns (st->st_ctim), st->st_ino, st->st_dev };
  g_checksum_update (w->sum, (const guchar *) rel, strlen (rel) + 1);
  g_checksum_update (w->sum, (const guchar *) fields, sizeof fields);
  if (w->now_ns - MAX (ns (st->st_mtim), ns (st->st_ctim)) < RACY_NS)
    w->racy = TRUE;
}

/* @path holds the entry's name relative to the top ("./a/b"); it grows and
 * shrinks in place, so no path is built per entry.  The names of a folder
 * are copied into one chunk (readdir reuses its buffer), sorted, and each
 * is looked at with fstatat on the folder's fd. */
static gboolean
walk (Walk *w, int fd, GString *path, GError **error)
{
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return gen_throw_errno (error, "reading '%s'", path->str);
    }
  g_autoptr (GStringChunk) chunk = g_string_chunk_new (4096);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      g_ptr_array_add (names, g_string_chunk_insert (chunk, de->d_name));
  g_ptr_array_sort (names, compare_names);
  gsize len = path->len;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_string_truncate (path, len);
      g_string_append_c (path, '/');
      g_string_append (path, name);
      struct stat st;
      if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ok = gen_throw_errno (error, "reading '%s'", path->str);
          break;
        }
      add_entry (w, path->str, &st);
      if (!S_ISDIR (st.st_mode))
        continue;
      int sub = openat (dirfd (d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        {
          ok = gen_throw_errno (error, "opening '%s'", path->str);
          break;
        }
      ok = walk (w, sub, path, error); /* takes @sub */
    }
  g_string_truncate (path, len);
  closedir (d);
  return ok;
}

char *
gen_statcache_digest (const char *path, gboolean *out_racy, GError **error)
{
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, path, error);
  if (dfd < 0)
    return NULL;
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  Walk w = { sum, ns (now), FALSE };
  struct stat st;
  if (fstat (dfd, &st) < 0)
    {
      gen_throw_errno (error, "reading '%s'", path);
      return NULL;
    }
  add_entry (&w, ".", &st);
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      gen_throw_errno (error, "opening '%s'", path);
      return NULL;
    }
  g_autoptr (GString) rel = g_string_new (".");
  if (!walk (&w, fd, rel, error))
    return NULL;
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
