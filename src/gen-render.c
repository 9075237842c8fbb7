#include "gen-render.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-crash.h"
#include "gen-sysroot.h"
#include "gen-textdiff.h"
#include "gen-util.h"

static void
rendered_file_free (GenRenderedFile *f)
{
  g_free (f->path);
  g_clear_pointer (&f->content, g_bytes_unref);
  g_free (f->target);
  g_free (f);
}

char *
gen_render_substitute (const char *text, GHashTable *vars, const char *what, GError **error)
{
  g_autoptr (GString) out = g_string_sized_new (strlen (text));
  const char *p = text;
  for (;;)
    {
      const char *open = strstr (p, "{{");
      if (!open)
        break;
      g_string_append_len (out, p, open - p);
      const char *close = strstr (open + 2, "}}");
      if (!close)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "%s: unclosed '{{'", what);
          return NULL;
        }
      g_autofree char *name = g_strstrip (g_strndup (open + 2, close - open - 2));
      const char *value = g_hash_table_lookup (vars, name);
      if (!value)
        {
          g_autofree char *shown = gen_escape_controls (name);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                       "%s: undefined variable '%s' (define it in config.vars)", what, shown);
          return NULL;
        }
      g_string_append (out, value);
      p = close + 2;
    }
  g_string_append (out, p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A template or source, refused when larger than GEN_CONFIG_FILE_MAX_SIZE:
 * the whole overlay is held in memory. */
static char *
read_config_file (const char *path, gsize *len, GError **error)
{
  gen_autofd fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      gen_throw_errno (error, "opening '%s'", path);
      return NULL;
    }
  if (S_ISREG (st.st_mode) && st.st_size > GEN_CONFIG_FILE_MAX_SIZE)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "'%s' is larger than %d bytes, the most a config file may hold", path,
                   GEN_CONFIG_FILE_MAX_SIZE);
      return NULL;
    }
  g_autofree char *data = gen_read_fd (fd, path, len, error);
  if (data && *len > GEN_CONFIG_FILE_MAX_SIZE)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "'%s' is larger than %d bytes, the most a config file may hold", path,
                   GEN_CONFIG_FILE_MAX_SIZE);
      return NULL;
    }
  return g_steal_pointer (&data);
}

GPtrArray *
gen_render_config (GenManifest *m, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) rendered_file_free);
  for (guint i = 0; i < m->files->len; i++)
    {
      GenConfigFileSpec *spec = m->files->pdata[i];
      g_autofree char *what = g_strdup_printf ("%s: config.files[\"%s\"]", m->path, spec->path);
      GenRenderedFile *f = g_new0 (GenRenderedFile, 1);
      g_ptr_array_add (out, f);
      f->path = g_strdup (spec->path);
      f->mode = spec->mode;
      switch (spec->kind)
        {
        case GEN_CONFIG_SYMLINK:
          f->is_symlink = TRUE;
          f->target = g_strdup (spec->value);
          break;
        case GEN_CONFIG_CONTENT:
          {
            char *text = gen_render_substitute (spec->value, m->vars, what, error);
            if (!text)
              return NULL;
            f->content = g_bytes_new_take (text, strlen (text));
            break;
          }
        case GEN_CONFIG_TEMPLATE:
        case GEN_CONFIG_SOURCE:
          {
            gsize len;
            g_autofree char *data = read_config_file (spec->value, &len, error);
            if (!data)
              {
                g_prefix_error (error, "%s: ", what);
                return NULL;
              }
            if (spec->kind == GEN_CONFIG_SOURCE)
              {
                f->content = g_bytes_new_take (g_steal_pointer (&data), len);
                break;
              }
            if (!g_utf8_validate_len (data, len, NULL))
              {
                g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                             "%s: template '%s' is not UTF-8 text (use 'source' to copy it as is)",
                             what, spec->value);
                return NULL;
              }
            char *text = gen_render_substitute (data, m->vars, what, error);
            if (!text)
              return NULL;
            f->content = g_bytes_new_take (text, strlen (text));
            break;
          }
        }
    }
  return g_steal_pointer (&out);
}

char *
gen_render_digest (GPtrArray *files)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (guint i = 0; i < files->len; i++)
    {
      GenRenderedFile *f = files->pdata[i];
      char header[64];
      g_checksum_update (sum, (const guchar *) f->path, strlen (f->path) + 1);
      if (f->is_symlink)
        {
          g_snprintf (header, sizeof header, "symlink");
          g_checksum_update (sum, (const guchar *) header, strlen (header) + 1);
          g_checksum_update (sum, (const guchar *) f->target, strlen (f->target) + 1);
        }
      else
        {
          gsize len;
          const guchar *data = g_bytes_get_data (f->content, &len);
          g_snprintf (header, sizeof header, "file %04o %" G_GSIZE_FORMAT, f->mode, len);
          g_checksum_update (sum, (const guchar *) header, strlen (header) + 1);
          g_checksum_update (sum, data, len);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

gboolean
gen_render_write (GPtrArray *files, int dfd, const char *dir, GError **error)
{
  GEN_CRASH_POINT ("before mkdir", dir);
  if (mkdirat (dfd, dir, 0755) < 0)
    return gen_throw_errno (error, "creating '%s'", dir);
  /* Every folder that gains an entry is fsync'd once at the end: with the
   * files fsync'd as they are written, the overlay is durable without a
   * syncfs of the whole file system. */
  g_autoptr (GHashTable) dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (dirs, g_strdup (dir));
  for (guint i = 0; i < files->len; i++)
    {
      GenRenderedFile *f = files->pdata[i];
      g_autofree char *rel = g_build_filename (dir, f->path + strlen ("/etc/"), NULL);
      g_autofree char *parent = g_path_get_dirname (rel);
      if (!g_hash_table_contains (dirs, parent))
        {
          if (!gen_mkdir_p_at (dfd, parent, 0755, error))
            return FALSE;
          g_autofree char *p = g_strdup (parent);
          while (!g_hash_table_contains (dirs, p))
            {
              char *up = g_path_get_dirname (p);
              g_hash_table_add (dirs, g_steal_pointer (&p));
              p = up;
            }
        }
      if (f->is_symlink)
        {
          GEN_CRASH_POINT ("before creating symlink", rel);
          if (symlinkat (f->target, dfd, rel) < 0)
            return gen_throw_errno (error, "creating symlink '%s'", rel);
          continue;
        }
      gsize len;
      const void *data = g_bytes_get_data (f->content, &len);
      if (!gen_write_new_file_at (dfd, rel, data, len, f->mode, error))
        return FALSE;
    }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, dirs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!gen_fsync_dir_at (dfd, key, error))
      return FALSE;
  return TRUE;
}

static gboolean
read_tree (int dfd, const char *dir, const char *prefix, GPtrArray *out, GError **error)
{
  int fd = openat (dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", dir);
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return gen_throw_errno (error, "reading '%s'", dir);
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *rel = g_build_filename (dir, name, NULL);
      g_autofree char *target_path = g_build_filename (prefix, name, NULL);
      struct stat st;
      if (fstatat (dfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return gen_throw_errno (error, "reading '%s'", rel);
      if (S_ISDIR (st.st_mode))
        {
          if (!read_tree (dfd, rel, target_path, out, error))
            return FALSE;
          continue;
        }
      GenRenderedFile *f = g_new0 (GenRenderedFile, 1);
      g_ptr_array_add (out, f);
      f->path = g_steal_pointer (&target_path);
      if (S_ISLNK (st.st_mode))
        {
          char buf[4096];
          ssize_t n = readlinkat (dfd, rel, buf, sizeof buf - 1);
          if (n < 0)
            return gen_throw_errno (error, "reading link '%s'", rel);
          f->is_symlink = TRUE;
          f->target = g_strndup (buf, n);
          continue;
        }
      gsize len;
      char *data = gen_read_file_at (dfd, rel, &len, error);
      if (!data)
        return FALSE;
      f->content = g_bytes_new_take (data, len);
      f->mode = st.st_mode & 07777;
    }
  return TRUE;
}

static gint
rendered_compare (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(GenRenderedFile **) a)->path, (*(GenRenderedFile **) b)->path);
}

GPtrArray *
gen_render_read (int dfd, const char *dir, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) rendered_file_free);
  if (!read_tree (dfd, dir, "/etc", out, error))
    return NULL;
  g_ptr_array_sort (out, rendered_compare);
  return g_steal_pointer (&out);
}

GPtrArray *
gen_render_read_generation (int sysroot_dfd, guint number, GError **error)
{
  g_autofree char *etc = g_strdup_printf (GEN_GENERATIONS_DIR "/%u/etc", number);
  return gen_render_read (sysroot_dfd, etc, error);
}

void
gen_overlay_change_free (GenOverlayChange *c)
{
  g_free (c->path);
  g_free (c->diff);
  g_free (c->old_target);
  g_free (c->new_target);
  g_free (c);
}

static gboolean
rendered_equal (GenRenderedFile *a, GenRenderedFile *b)
{
  if (a->is_symlink != b->is_symlink)
    return FALSE;
  if (a->is_symlink)
    return g_str_equal (a->target, b->target);
  return a->mode == b->mode && g_bytes_equal (a->content, b->content);
}

/* The file's bytes as text, or NULL when they are not UTF-8 without NULs. */
static char *
as_text (GenRenderedFile *f)
{
  if (!f || f->is_symlink)
    return NULL;
  gsize len;
  const char *data = g_bytes_get_data (f->content, &len);
  if (!g_utf8_validate_len (data, len, NULL) || memchr (data, '\0', len))
    return NULL;
  return g_strndup (data, len);
}

static GenOverlayChange *
overlay_change (GenOverlayChangeKind kind, GenRenderedFile *a, GenRenderedFile *b)
{
  GenOverlayChange *c = g_new0 (GenOverlayChange, 1);
  c->kind = kind;
  c->path = g_strdup (a ? a->path : b->path);
  if (a && a->is_symlink)
    c->old_target = g_strdup (a->target);
  else if (a)
    c->old_mode = a->mode;
  if (b && b->is_symlink)
    c->new_target = g_strdup (b->target);
  else if (b)
    c->new_mode = b->mode;

  gboolean a_file = a && !a->is_symlink, b_file = b && !b->is_symlink;
  if (!a_file && !b_file)
    return c;
  g_autofree char *old_text = as_text (a_file ? a : NULL);
  g_autofree char *new_text = as_text (b_file ? b : NULL);
  if ((a_file && !old_text) || (b_file && !new_text))
    return c; /* binary: no text diff */
  g_autofree char *old_label = g_strconcat ("a", c->path, NULL);
  g_autofree char *new_label = g_strconcat ("b", c->path, NULL);
  c->diff = gen_text_diff (old_text, new_text, old_label, new_label);
  return c;
}

GPtrArray *
gen_render_compare (GPtrArray *old_files, GPtrArray *new_files)
{
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_overlay_change_free);
  guint i = 0, j = 0;
  while (i < old_files->len || j < new_files->len)
    {
      GenRenderedFile *a = i < old_files->len ? old_files->pdata[i] : NULL;
      GenRenderedFile *b = j < new_files->len ? new_files->pdata[j] : NULL;
      int cmp = !a ? 1 : !b ? -1 : strcmp (a->path, b->path);
      if (cmp < 0)
        g_ptr_array_add (changes, overlay_change (GEN_OVERLAY_REMOVED, a, NULL)), i++;
      else if (cmp > 0)
        g_ptr_array_add (changes, overlay_change (GEN_OVERLAY_ADDED, NULL, b)), j++;
      else
        {
          if (!rendered_equal (a, b))
            g_ptr_array_add (changes, overlay_change (GEN_OVERLAY_MODIFIED, a, b));
          i++, j++;
        }
    }
  return changes;
}
