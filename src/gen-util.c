#include "gen-util.h"

#include "gen-crash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
gen_throw_errno (GError **error, const char *fmt, ...)
{
  int errsv = errno;
  va_list args;
  va_start (args, fmt);
  g_autofree char *prefix = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", prefix,
               g_strerror (errsv));
  errno = errsv;
  return FALSE;
}

void
gen_close_fd (int *fd)
{
  if (*fd >= 0)
    {
      int errsv = errno;
      close (*fd);
      errno = errsv;
      *fd = -1;
    }
}

int
gen_open_dir_at (int dfd, const char *path, GError **error)
{
  int fd = openat (dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    gen_throw_errno (error, "opening '%s'", path);
  return fd;
}

int
gen_open_dir_below (int dfd, const char *path, GError **error)
{
  g_auto (GStrv) names = g_strsplit (path, "/", -1);
  int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    {
      gen_throw_errno (error, "opening '%s'", path);
      return -1;
    }
  for (guint i = 0; names[i]; i++)
    {
      if (!*names[i])
        continue;
      int sub = openat (fd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int saved = errno;
      close (fd);
      if (sub < 0)
        {
          errno = saved;
          gen_throw_errno (error, "opening '%s'", path);
          return -1;
        }
      fd = sub;
    }
  return fd;
}

gboolean
gen_mkdir_p_at (int dfd, const char *path, mode_t mode, GError **error)
{
  GEN_CRASH_POINT ("before mkdir", path);
  if (mkdirat (dfd, path, mode) == 0 || errno == EEXIST)
    return TRUE;
  if (errno != ENOENT)
    return gen_throw_errno (error, "creating '%s'", path);
  g_autofree char *parent = g_path_get_dirname (path);
  if (g_str_equal (parent, ".") || g_str_equal (parent, "/") || g_str_equal (parent, path))
    return gen_throw_errno (error, "creating '%s'", path);
  if (!gen_mkdir_p_at (dfd, parent, mode, error))
    return FALSE;
  if (mkdirat (dfd, path, mode) < 0 && errno != EEXIST)
    return gen_throw_errno (error, "creating '%s'", path);
  return TRUE;
}

static gboolean
rm_rf_children (int dfd, GError **error)
{
  DIR *dir = fdopendir (dfd);
  if (!dir)
    {
      close (dfd);
      return gen_throw_errno (error, "reading folder");
    }
  struct dirent *de;
  gboolean ok = TRUE;
  while (ok && (errno = 0, de = readdir (dir)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      if (unlinkat (dirfd (dir), de->d_name, 0) == 0 || errno == ENOENT)
        continue;
      if (errno != EISDIR && errno != EPERM)
        {
          ok = gen_throw_errno (error, "removing '%s'", de->d_name);
          break;
        }
      int child = openat (dirfd (dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0)
        {
          ok = gen_throw_errno (error, "opening '%s'", de->d_name);
          break;
        }
      ok = rm_rf_children (child, error);
      if (ok && unlinkat (dirfd (dir), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        ok = gen_throw_errno (error, "removing '%s'", de->d_name);
    }
  closedir (dir);
  return ok;
}

gboolean
gen_rm_rf_at (int dfd, const char *path, GError **error)
{
  GEN_CRASH_POINT ("before removing", path);
  if (unlinkat (dfd, path, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR && errno != EPERM)
    return gen_throw_errno (error, "removing '%s'", path);
  int fd = openat (dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", path);
  if (!rm_rf_children (fd, error))
    {
      g_prefix_error (error, "removing '%s': ", path);
      return FALSE;
    }
  GEN_CRASH_POINT ("emptied, before removing", path);
  if (unlinkat (dfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return gen_throw_errno (error, "removing '%s'", path);
  return TRUE;
}

static gboolean
fsync_dir (int dfd, const char *path, GError **error)
{
  gen_autofd fd = openat (dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", path);
  if (fsync (fd) < 0)
    return gen_throw_errno (error, "syncing '%s'", path);
  return TRUE;
}

gboolean
gen_fsync_dir_at (int dfd, const char *path, GError **error)
{
  GEN_CRASH_POINT ("before syncing folder", path);
  if (!fsync_dir (dfd, path, error))
    return FALSE;
  GEN_CRASH_POINT ("after syncing folder", path);
  return TRUE;
}

char *
gen_read_fd (int fd, const char *name, gsize *len, GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    {
      gen_throw_errno (error, "reading '%s'", name);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "'%s' is not a regular file",
                   name);
      return NULL;
    }
  g_autoptr (GByteArray) buf = g_byte_array_sized_new (st.st_size + 1);
  for (;;)
    {
      guint8 chunk[16384];
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          gen_throw_errno (error, "reading '%s'", name);
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, n);
    }
  if (len)
    *len = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
}

char *
gen_read_file_at (int dfd, const char *path, gsize *len, GError **error)
{
  /* O_NONBLOCK: opening a FIFO must not hang; gen_read_fd refuses it. */
  gen_autofd fd = openat (dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      gen_throw_errno (error, "opening '%s'", path);
      return NULL;
    }
  return gen_read_fd (fd, path, len, error);
}

static gboolean
write_all (int fd, const void *data, gsize len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

/* Writes @parts in order, with as few calls as writev() allows. */
static gboolean
write_parts (int fd, const struct iovec *parts, guint n_parts)
{
  while (n_parts > 0)
    {
      ssize_t n = writev (fd, parts, MIN (n_parts, IOV_MAX));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      if (n == 0 && parts->iov_len > 0)
        {
          errno = EIO; /* no progress: never for a regular file */
          return FALSE;
        }
      for (; n_parts > 0 && (gsize) n >= parts->iov_len; parts++, n_parts--)
        n -= parts->iov_len;
      if (n_parts > 0 && n > 0)
        {
          /* A short write: the rest of this part, then on. */
          if (!write_all (fd, (const char *) parts->iov_base + n, parts->iov_len - n))
            return FALSE;
          parts++;
          n_parts--;
        }
    }
  return TRUE;
}

/* A new file (O_EXCL) holding @parts; fsync'd when @sync. */
static gboolean
write_new (int dfd, const char *path, const struct iovec *parts, guint n_parts, mode_t mode,
           gboolean sync, GError **error)
{
  GEN_CRASH_POINT ("before creating", path);
  gen_autofd fd = openat (dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return gen_throw_errno (error, "creating '%s'", path);
  if (fchmod (fd, mode) < 0)
    return gen_throw_errno (error, "setting the mode of '%s'", path);
  if (!write_parts (fd, parts, n_parts))
    return gen_throw_errno (error, "writing '%s'", path);
  if (!sync)
    return TRUE;
  GEN_CRASH_POINT ("written, before syncing", path);
  if (fsync (fd) < 0)
    return gen_throw_errno (error, "syncing '%s'", path);
  GEN_CRASH_POINT ("after syncing", path);
  return TRUE;
}

gboolean
gen_write_new_file_at (int dfd, const char *path, const void *data, gsize len, mode_t mode,
                       GError **error)
{
  struct iovec part = { (void *) data, len };
  return write_new (dfd, path, &part, 1, mode, TRUE, error);
}

static char *
tmp_name_for (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  return g_strdup_printf ("%s/.%s.tmp-%08x", dir, base, g_random_int ());
}

/* renameat, without syncing the folder. */
static gboolean
rename_at (int dfd, const char *old_path, const char *new_path, GError **error)
{
  GEN_CRASH_POINT ("before renaming to", new_path);
  if (renameat (dfd, old_path, dfd, new_path) < 0)
    return gen_throw_errno (error, "renaming '%s' to '%s'", old_path, new_path);
  return TRUE;
}

gboolean
gen_rename_at (int dfd, const char *old_path, const char *new_path, GError **error)
{
  if (!rename_at (dfd, old_path, new_path, error))
    return FALSE;
  GEN_CRASH_POINT ("renamed, before syncing the folder of", new_path);
  g_autofree char *dir = g_path_get_dirname (new_path);
  if (!fsync_dir (dfd, dir, error))
    return FALSE;
  GEN_CRASH_POINT ("after syncing the folder of", new_path);
  return TRUE;
}

/* @parts into a temporary file renamed over @path; with @durable, the file
 * and then its folder are fsync'd. */
static gboolean
replace_file (int dfd, const char *path, const struct iovec *parts, guint n_parts, mode_t mode,
              gboolean durable, GError **error)
{
  g_autofree char *tmp = tmp_name_for (path);
  if (write_new (dfd, tmp, parts, n_parts, mode, durable, error)
      && (durable ? gen_rename_at (dfd, tmp, path, error) : rename_at (dfd, tmp, path, error)))
    return TRUE;
  unlinkat (dfd, tmp, 0);
  return FALSE;
}

gboolean
gen_write_file_at (int dfd, const char *path, const void *data, gsize len, mode_t mode,
                   GError **error)
{
  struct iovec part = { (void *) data, len };
  return replace_file (dfd, path, &part, 1, mode, TRUE, error);
}

gboolean
gen_write_cache_file_at (int dfd, const char *path, const struct iovec *parts, guint n_parts,
                         mode_t mode, GError **error)
{
  return replace_file (dfd, path, parts, n_parts, mode, FALSE, error);
}

gboolean
gen_copy_file_at (int src_dfd, const char *src, int dst_dfd, const char *dst, mode_t mode,
                  GError **error)
{
  gen_autofd in = openat (src_dfd, src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return gen_throw_errno (error, "opening '%s'", src);
  GEN_CRASH_POINT ("before creating", dst);
  gen_autofd out
      = openat (dst_dfd, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (out < 0)
    return gen_throw_errno (error, "creating '%s'", dst);
  if (fchmod (out, mode) < 0)
    return gen_throw_errno (error, "setting the mode of '%s'", dst);
  for (;;)
    {
      char buf[65536];
      ssize_t n = read (in, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return gen_throw_errno (error, "reading '%s'", src);
      if (n == 0)
        break;
      if (!write_all (out, buf, n))
        return gen_throw_errno (error, "writing '%s'", dst);
    }
  GEN_CRASH_POINT ("written, before syncing", dst);
  if (fsync (out) < 0)
    return gen_throw_errno (error, "syncing '%s'", dst);
  GEN_CRASH_POINT ("after syncing", dst);
  return TRUE;
}

gboolean
gen_symlink_replace_at (int dfd, const char *target, const char *path, GError **error)
{
  g_autofree char *tmp = tmp_name_for (path);
  GEN_CRASH_POINT ("before creating symlink", tmp);
  if (symlinkat (target, dfd, tmp) < 0)
    return gen_throw_errno (error, "creating symlink '%s'", tmp);
  if (!gen_rename_at (dfd, tmp, path, error))
    {
      unlinkat (dfd, tmp, 0);
      return FALSE;
    }
  return TRUE;
}

guint64
gen_ns (const struct timespec *t)
{
  return (guint64) t->tv_sec * G_GUINT64_CONSTANT (1000000000) + t->tv_nsec;
}

guint64
gen_now_ns (void)
{
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  return gen_ns (&now);
}

gboolean
gen_racy (guint64 mtime_ns, guint64 ctime_ns, guint64 at_ns)
{
  /* Signed: a time before 1970 wraps as a guint64 (gen_ns()). */
  gint64 changed = MAX ((gint64) mtime_ns, (gint64) ctime_ns);
  return changed + GEN_RACY_SECONDS * G_GINT64_CONSTANT (1000000000) >= (gint64) at_ns;
}

gboolean
gen_stat_racy (const struct stat *st, guint64 at_ns)
{
  return gen_racy (gen_ns (&st->st_mtim), gen_ns (&st->st_ctim), at_ns);
}

gboolean
gen_exists_at (int dfd, const char *path)
{
  struct stat st;
  return fstatat (dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

gboolean
gen_error_is_no_space (const GError *error)
{
  return error
         && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
             || (error->domain == G_IO_ERROR
                 && strstr (error->message, "min-free-space-") != NULL));
}

void
gen_propagate_no_space (GError **dest, GError *src, const char *where)
{
  if (!src)
    return;
  if (gen_error_is_no_space (src))
    g_prefix_error (&src, "no space left in '%s': ", where);
  g_propagate_error (dest, src);
}

char *
gen_escape_controls (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p; p++)
    {
      guchar c = *p;
      if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, c);
    }
  return g_string_free (out, FALSE);
}

gboolean
gen_has_control (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s < 0x20 || *s == 0x7f)
      return TRUE;
  return FALSE;
}

gboolean
gen_is_checksum (const char *s)
{
  if (!s || strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

char *
gen_uint_array_string (GArray *numbers)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < numbers->len; i++)
    g_string_append_printf (s, "%s%u", i ? ", " : "", g_array_index (numbers, guint, i));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
gen_iso8601_now (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}
