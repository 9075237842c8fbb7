/* gen-compose-unpack.c: .deb files (ar, then data.tar.*) read by libarchive
 * and written straight into an ostree mutable tree: no tree on disk.
 *
 * The rules (docs/gen.manifest.5, PACKAGES): member paths must stay inside
 * the tree; the top-level bin, sbin, lib* folders are merged into usr/ as
 * debootstrap does for Debian 12; device nodes, FIFOs and sockets are
 * refused; setuid/setgid bits are removed unless release.packages.setuid
 * names the path; owners are root and xattrs are dropped; two packages may
 * ship the same path only with the same content. */
#include "gen-compose-private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-util.h"

typedef struct archive GenDebArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenDebArchive, archive_read_free)

/* The top-level folders Debian 12 keeps under /usr, with links to them. */
static const char *const usr_aliases[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };

/* Files larger than this are streamed into the store; smaller ones are
 * read into memory and written in one call. */
#define INLINE_MAX (256 * 1024)

char *
gen_compose_package_label (GenComposePackage *pkg)
{
  return g_strdup_printf ("%s %s (%s)", pkg->name, pkg->version, pkg->arch);
}

typedef struct
{
  GenComposePackage *pkg; /* NULL: written by gen */
  gboolean regular;
  guint64 size;
} Owner;

typedef struct
{
  GenCompose *c;
  OstreeRepo *repo;
  OstreeMutableTree *root;
  GHashTable *owners;  /* tree path -> Owner, for everything but folders */
  GHashTable *dirmeta; /* mode -> dirmeta checksum */
  GPtrArray *stripped; /* paths that lost setuid/setgid bits */
  GenComposePackage *pkg;
  char *label;
  GByteArray *buf;
  GenProgressFunc progress;
  gpointer user_data;
  guint index;
  guint64 bytes;
  gint64 last_report;
  GCancellable *cancellable;
} Unpack;

static gboolean G_GNUC_PRINTF (3, 4) refuse (Unpack *u, GError **error, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "package %s: %s", u->label, msg);
  return FALSE;
}

static void
report (Unpack *u, gboolean force)
{
  if (!u->progress)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && now - u->last_report < 100000)
    return;
  u->last_report = now;
  g_autofree char *size = g_format_size (u->bytes);
  g_autofree char *step = g_strdup_printf ("unpacking packages (%s)", size);
  u->progress (step, u->index, u->c->packages->len, u->user_data);
}

static gint
strcmp_p (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

/* A sorted copy of @arr without repeats. */
static GStrv
sorted_strv (GPtrArray *arr)
{
  g_ptr_array_sort (arr, strcmp_p);
  GPtrArray *copy = g_ptr_array_new ();
  for (guint i = 0; i < arr->len; i++)
    if (i == 0 || !g_str_equal (arr->pdata[i], arr->pdata[i - 1]))
      g_ptr_array_add (copy, g_strdup (arr->pdata[i]));
  g_ptr_array_add (copy, NULL);
  return (GStrv) g_ptr_array_free (copy, FALSE);
}

/* --- paths ----------------------------------------------------------------- */

/* Splits @path into its parts, dropping empty and "." ones; FALSE when a
 * part is "..". */
static gboolean
split_path (const char *path, GPtrArray *parts)
{
  g_auto (GStrv) raw = g_strsplit (path, "/", -1);
  for (char **p = raw; *p; p++)
    {
      if (**p == '\0' || g_str_equal (*p, "."))
        continue;
      if (g_str_equal (*p, ".."))
        return FALSE;
      g_ptr_array_add (parts, g_strdup (*p));
    }
  return TRUE;
}

/* "bin/ls" -> "usr/bin/ls"; other paths as they are.  Takes @path. */
static char *
merge_usr (char *path)
{
  gsize len = strcspn (path, "/");
  for (const char *const *a = usr_aliases; *a; a++)
    if (strlen (*a) == len && strncmp (path, *a, len) == 0)
      {
        char *merged = g_strconcat ("usr/", path, NULL);
        g_free (path);
        return merged;
      }
  return path;
}

/* A member name as a tree path ("./usr/bin/x" -> "usr/bin/x", before the
 * /usr merge); NULL (no error) for the root itself. */
static gboolean
member_path (Unpack *u, const char *raw, const char *what, char **out, GError **error)
{
  *out = NULL;
  if (!raw || !*raw)
    return refuse (u, error, "a %s has no name", what);
  if (!g_utf8_validate (raw, -1, NULL))
    {
      g_autofree char *shown = g_utf8_make_valid (raw, -1);
      return refuse (u, error, "%s '%s' is not valid UTF-8", what, shown);
    }
  if (raw[0] == '/')
    return refuse (u, error, "%s '%s' has an absolute path", what, raw);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  if (!split_path (raw, parts))
    return refuse (u, error, "%s '%s' climbs out with '..'", what, raw);
  if (parts->len == 0)
    return TRUE;
  g_ptr_array_add (parts, NULL);
  *out = g_strjoinv ("/", (char **) parts->pdata);
  return TRUE;
}

/* Where the link at @path (a tree path) points, resolved by its text only;
 * NULL when a relative @target climbs above the root. */
static char *
resolve_link (const char *path, const char *target)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  if (target[0] != '/')
    {
      g_autofree char *dir = g_path_get_dirname (path);
      if (!g_str_equal (dir, "."))
        split_path (dir, parts);
    }
  g_auto (GStrv) raw = g_strsplit (target, "/", -1);
  for (char **p = raw; *p; p++)
    {
      if (**p == '\0' || g_str_equal (*p, "."))
        continue;
      if (g_str_equal (*p, ".."))
        {
          if (parts->len == 0)
            {
              if (target[0] == '/')
                continue; /* "/.." is "/" */
              return NULL;
            }
          g_ptr_array_remove_index (parts, parts->len - 1);
          continue;
        }
      g_ptr_array_add (parts, g_strdup (*p));
    }
  g_ptr_array_add (parts, NULL);
  return g_strjoinv ("/", (char **) parts->pdata);
}

/* --- the tree -------------------------------------------------------------- */

static const char *
dirmeta_for (Unpack *u, guint mode, GError **error)
{
  const char *known = g_hash_table_lookup (u->dirmeta, GUINT_TO_POINTER (mode));
  if (known)
    return known;
  g_autoptr (GFileInfo) info = g_file_info_new ();
  g_file_info_set_attribute_uint32 (info, "unix::uid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::gid", 0);
  g_file_info_set_attribute_uint32 (info, "unix::mode", S_IFDIR | mode);
  g_autoptr (GVariant) meta = g_variant_ref_sink (ostree_create_directory_metadata (info, NULL));
  g_autofree guchar *csum = NULL;
  if (!ostree_repo_write_metadata (u->repo, OSTREE_OBJECT_TYPE_DIR_META, NULL, meta, &csum,
                                   u->cancellable, error))
    return NULL;
  char *checksum = ostree_checksum_from_bytes (csum);
  g_hash_table_insert (u->dirmeta, GUINT_TO_POINTER (mode), checksum);
  return checksum;
}

static const char *
owner_name (Owner *o)
{
  return o && o->pkg ? o->pkg->name : "gen";
}

/* The folder @path (a tree path, or NULL for the root), made as needed.
 * A file in the way is an error naming the package that put it there. */
static OstreeMutableTree *
ensure_dir (Unpack *u, const char *path, GError **error)
{
  if (!path)
    return u->root;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  OstreeMutableTree *dir = u->root;
  g_autoptr (GString) so_far = g_string_new (NULL);
  for (char **p = parts; *p; p++)
    {
      g_string_append_printf (so_far, "%s%s", so_far->len ? "/" : "", *p);
      g_autofree char *file = NULL;
      g_autoptr (OstreeMutableTree) sub = NULL;
      if (ostree_mutable_tree_lookup (dir, *p, &file, &sub, NULL) && file)
        {
          Owner *o = g_hash_table_lookup (u->owners, so_far->str);
          refuse (u, error, "'/%s' is not a folder: package %s ships it as a file or link",
                  so_far->str, owner_name (o));
          return NULL;
        }
      if (!sub && !ostree_mutable_tree_ensure_dir (dir, *p, &sub, error))
        return NULL;
      dir = sub; /* the tree keeps it alive */
    }
  return dir;
}

/* Puts file @checksum at @path, unless another package put different
 * content there. */
static gboolean
place_file (Unpack *u, const char *path, const char *checksum, gboolean regular, guint64 size,
            GError **error)
{
  g_autofree char *dirname = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  OstreeMutableTree *dir = ensure_dir (u, g_str_equal (dirname, ".") ? NULL : dirname, error);
  if (!dir)
    return FALSE;
  g_autofree char *existing = NULL;
  g_autoptr (OstreeMutableTree) sub = NULL;
  if (ostree_mutable_tree_lookup (dir, name, &existing, &sub, NULL))
    {
      if (sub)
        return refuse (u, error, "'/%s' is a folder, so it cannot be a file or link", path);
      Owner *o = g_hash_table_lookup (u->owners, path);
      if (o && o->pkg != u->pkg && !g_str_equal (existing, checksum))
        return refuse (u, error, "'/%s' is also in package %s, with other content", path,
                       owner_name (o));
    }
  if (!ostree_mutable_tree_replace_file (dir, name, checksum, error))
    return FALSE;
  Owner *o = g_new0 (Owner, 1);
  o->pkg = u->pkg;
  o->regular = regular;
  o->size = size;
  g_hash_table_replace (u->owners, g_strdup (path), o);
  return TRUE;
}

/* The folder at @path (NULL: the root), or NULL; owned by the tree. */
static OstreeMutableTree *
lookup_dir (Unpack *u, const char *path)
{
  OstreeMutableTree *dir = u->root;
  if (!path || g_str_equal (path, "."))
    return dir;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p; p++)
    {
      g_autofree char *file = NULL;
      g_autoptr (OstreeMutableTree) sub = NULL;
      if (!ostree_mutable_tree_lookup (dir, *p, &file, &sub, NULL) || !sub)
        return NULL;
      dir = sub; /* the tree keeps it alive */
    }
  return dir;
}

/* The file checksum at @path, or NULL. */
static char *
lookup_file (Unpack *u, const char *path)
{
  g_autofree char *dirname = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  OstreeMutableTree *dir = lookup_dir (u, dirname);
  g_autofree char *file = NULL;
  g_autoptr (OstreeMutableTree) sub = NULL;
  if (!dir || !ostree_mutable_tree_lookup (dir, name, &file, &sub, NULL))
    return NULL;
  return g_steal_pointer (&file);
}

/* --- one member of data.tar ------------------------------------------------- */

static gboolean
read_data (Unpack *u, struct archive *a, guint8 *buf, gsize len, GError **error)
{
  for (gsize off = 0; off < len;)
    {
      la_ssize_t n = archive_read_data (a, buf + off, len - off);
      if (n < 0)
        return refuse (u, error, "reading data.tar: %s", archive_error_string (a));
      if (n == 0)
        return refuse (u, error, "data.tar ends inside a file");
      off += n;
    }
  return TRUE;
}

static char *
write_regular (Unpack *u, struct archive *a, guint mode, guint64 size, GError **error)
{
  if (size <= INLINE_MAX)
    {
      g_byte_array_set_size (u->buf, size);
      if (!read_data (u, a, u->buf->data, size, error))
        return NULL;
      return ostree_repo_write_regfile_inline (u->repo, NULL, 0, 0, S_IFREG | mode, NULL,
                                               u->buf->data, size, u->cancellable, error);
    }
  g_autoptr (OstreeContentWriter) w
      = ostree_repo_write_regfile (u->repo, NULL, 0, 0, S_IFREG | mode, size, NULL, error);
  if (!w)
    return NULL;
  g_byte_array_set_size (u->buf, INLINE_MAX);
  for (guint64 left = size; left > 0;)
    {
      gsize chunk = MIN (left, (guint64) INLINE_MAX);
      if (!read_data (u, a, u->buf->data, chunk, error)
          || !g_output_stream_write_all (G_OUTPUT_STREAM (w), u->buf->data, chunk, NULL,
                                         u->cancellable, error))
        return NULL;
      left -= chunk;
      u->bytes += chunk;
      report (u, FALSE);
    }
  return ostree_content_writer_finish (w, u->cancellable, error);
}

/* A link moved by the /usr merge keeps pointing where it pointed: a
 * relative target that now resolves elsewhere becomes absolute. */
static char *
rebase_link (const char *old_path, const char *new_path, const char *target)
{
  if (target[0] == '/' || g_str_equal (old_path, new_path))
    return g_strdup (target);
  g_autofree char *was = resolve_link (old_path, target);
  g_autofree char *now = resolve_link (new_path, target);
  if (!was)
    return g_strdup (target); /* refused by the caller */
  g_autofree char *was_merged = merge_usr (g_strdup (was));
  g_autofree char *now_merged = now ? merge_usr (g_strdup (now)) : NULL;
  if (now_merged && g_str_equal (was_merged, now_merged))
    return g_strdup (target);
  return g_strconcat ("/", was, NULL);
}

static gboolean
unpack_member (Unpack *u, struct archive *a, struct archive_entry *e, GError **error)
{
  const char *raw = archive_entry_pathname (e);
  g_autofree char *orig = NULL;
  if (!member_path (u, raw, "member", &orig, error))
    return FALSE;
  if (!orig)
    return TRUE; /* "./": the root keeps gen's metadata */
  g_autofree char *path = merge_usr (g_strdup (orig));
  g_autofree char *abs = g_strconcat ("/", path, NULL);
  const char *hardlink = archive_entry_hardlink (e);
  mode_t type = archive_entry_filetype (e);
  guint mode = archive_entry_perm (e) & 07777;
  if ((mode & (S_ISUID | S_ISGID)) && !g_strv_contains ((const char *const *) u->c->setuid, abs))
    {
      mode &= ~(S_ISUID | S_ISGID);
      if (type == AE_IFREG && !hardlink)
        g_ptr_array_add (u->stripped, g_strdup (abs));
    }

  if (hardlink)
    {
      g_autofree char *target = NULL;
      if (!member_path (u, hardlink, "hard link target", &target, error))
        return FALSE;
      if (!target)
        return refuse (u, error, "hard link '%s' points at the root", raw);
      target = merge_usr (target);
      Owner *o = g_hash_table_lookup (u->owners, target);
      g_autofree char *checksum = lookup_file (u, target);
      if (!checksum || !o || o->pkg != u->pkg || !o->regular)
        return refuse (u, error,
                       "hard link '%s' points at '%s', which is not a file this "
                       "package shipped before it",
                       raw, hardlink);
      return place_file (u, path, checksum, TRUE, o->size, error);
    }

  switch (type)
    {
    case AE_IFDIR:
      {
        /* The first package to ship a folder sets its mode, as with dpkg. */
        OstreeMutableTree *dir = ensure_dir (u, path, error);
        if (!dir)
          return FALSE;
        if (!ostree_mutable_tree_get_metadata_checksum (dir))
          {
            const char *meta = dirmeta_for (u, mode, error);
            if (!meta)
              return FALSE;
            ostree_mutable_tree_set_metadata_checksum (dir, meta);
          }
        return TRUE;
      }
    case AE_IFREG:
      {
        guint64 size = archive_entry_size_is_set (e) ? (guint64) archive_entry_size (e) : 0;
        g_autofree char *checksum = write_regular (u, a, mode, size, error);
        if (!checksum)
          return FALSE;
        if (size <= INLINE_MAX)
          u->bytes += size;
        return place_file (u, path, checksum, TRUE, size, error);
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        g_autofree char *resolved = target && *target ? resolve_link (orig, target) : NULL;
        if (!resolved)
          return refuse (u, error, "symlink '%s' points outside the tree ('%s')", raw,
                         target ? target : "");
        /* A link for a merged folder itself ("bin" -> "usr/bin") is what the
         * merge makes anyway; any other link there would undo it. */
        if (g_strv_contains (usr_aliases, orig))
          {
            g_autofree char *merged = g_strconcat ("usr/", orig, NULL);
            if (g_str_equal (resolved, merged))
              return TRUE;
            return refuse (u, error, "symlink '%s' points at '%s', but gen links /%s to /usr/%s",
                           raw, target, orig, orig);
          }
        g_autofree char *kept = rebase_link (orig, path, target);
        g_autofree char *checksum
            = ostree_repo_write_symlink (u->repo, NULL, 0, 0, NULL, kept, u->cancellable, error);
        if (!checksum)
          return FALSE;
        return place_file (u, path, checksum, FALSE, 0, error);
      }
    default:
      return refuse (u, error,
                     "member '%s' is a device node, FIFO or socket, which a release "
                     "may not hold",
                     raw);
    }
}

/* --- the .deb --------------------------------------------------------------- */

/* Reads an ar member through a second archive reader (tar inside ar). */
static la_ssize_t
nested_read (struct archive *inner, void *data, const void **buf)
{
  struct archive *outer = data;
  size_t size = 0;
  la_int64_t offset;
  int r = archive_read_data_block (outer, buf, &size, &offset);
  if (r == ARCHIVE_EOF)
    return 0;
  if (r < ARCHIVE_WARN)
    {
      archive_set_error (inner, archive_errno (outer), "%s", archive_error_string (outer));
      return -1;
    }
  return size;
}

static GenDebArchive *
open_nested (Unpack *u, struct archive *outer, const char *member, GError **error)
{
  g_autoptr (GenDebArchive) inner = archive_read_new ();
  archive_read_support_filter_all (inner);
  archive_read_support_format_tar (inner);
  if (archive_read_open (inner, outer, NULL, nested_read, NULL) != ARCHIVE_OK)
    {
      refuse (u, error, "reading %s: %s", member, archive_error_string (inner));
      return NULL;
    }
  return g_steal_pointer (&inner);
}

/* The maintainer scripts dpkg would run on installing. */
static gboolean
read_control (Unpack *u, struct archive *outer, const char *member, GError **error)
{
  g_autoptr (GenDebArchive) a = open_nested (u, outer, member, error);
  if (!a)
    return FALSE;
  static const char *const scripts[] = { "preinst", "postinst", "config", NULL };
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (e);
      while (name && g_str_has_prefix (name, "./"))
        name += 2;
      if (name && g_strv_contains (scripts, name))
        g_ptr_array_add (found, g_strdup (name));
    }
  if (r != ARCHIVE_EOF)
    return refuse (u, error, "reading %s: %s", member, archive_error_string (a));
  g_strfreev (u->pkg->scripts);
  u->pkg->scripts = sorted_strv (found);
  return TRUE;
}

static gboolean
read_data_tar (Unpack *u, struct archive *outer, const char *member, GError **error)
{
  g_autoptr (GenDebArchive) a = open_nested (u, outer, member, error);
  if (!a)
    return FALSE;
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      if (!unpack_member (u, a, e, error))
        return FALSE;
      report (u, FALSE);
      if (g_cancellable_set_error_if_cancelled (u->cancellable, error))
        return FALSE;
    }
  if (r != ARCHIVE_EOF)
    return refuse (u, error, "reading %s: %s", member, archive_error_string (a));
  return TRUE;
}

static gboolean
member_is (const char *name, const char *stem)
{
  static const char *const suffixes[] = { "", ".gz", ".xz", ".zst", ".bz2", ".lzma", NULL };
  if (!g_str_has_prefix (name, stem))
    return FALSE;
  return g_strv_contains (suffixes, name + strlen (stem));
}

static gboolean
unpack_deb (Unpack *u, GError **error)
{
  GenComposePackage *pkg = u->pkg;
  gen_autofd fd = openat (pkg->dfd, pkg->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", pkg->file);
  g_autoptr (GenDebArchive) a = archive_read_new ();
  archive_read_support_format_ar (a);
  if (archive_read_open_fd (a, fd, 1 << 20) != ARCHIVE_OK)
    return refuse (u, error, "not a .deb: %s", archive_error_string (a));
  struct archive_entry *e;
  int r;
  guint n = 0;
  gboolean have_data = FALSE, have_control = FALSE;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (e);
      if (!name)
        name = "";
      if (n++ == 0)
        {
          char magic[4] = "";
          if (!g_str_equal (name, "debian-binary") || archive_read_data (a, magic, 4) < 2
              || strncmp (magic, "2.", 2) != 0)
            return refuse (u, error, "not a .deb of format 2.x");
          continue;
        }
      if (member_is (name, "control.tar") && !have_control)
        {
          have_control = TRUE;
          if (!read_control (u, a, name, error))
            return FALSE;
        }
      else if (member_is (name, "data.tar") && !have_data)
        {
          have_data = TRUE;
          if (!read_data_tar (u, a, name, error))
            return FALSE;
        }
      else if (name[0] != '_')
        return refuse (u, error, "unexpected member '%s' in the .deb", name);
    }
  if (r != ARCHIVE_EOF)
    return refuse (u, error, "reading the .deb: %s", archive_error_string (a));
  if (!have_control || !have_data)
    return refuse (u, error, "the .deb has no %s", have_data ? "control.tar" : "data.tar");
  return TRUE;
}

/* --- after the packages ------------------------------------------------------- */

static char *
write_symlink (Unpack *u, const char *target, GError **error)
{
  return ostree_repo_write_symlink (u->repo, NULL, 0, 0, NULL, target, u->cancellable, error);
}

/* bin -> usr/bin and the others, for each usr/ folder that exists. */
static gboolean
add_usr_links (Unpack *u, GError **error)
{
  g_autoptr (OstreeMutableTree) usr = NULL;
  g_autofree char *file = NULL;
  if (!ostree_mutable_tree_lookup (u->root, "usr", &file, &usr, NULL) || !usr)
    return TRUE;
  for (const char *const *a = usr_aliases; *a; a++)
    {
      g_autofree char *f = NULL;
      g_autoptr (OstreeMutableTree) sub = NULL;
      if (!ostree_mutable_tree_lookup (usr, *a, &f, &sub, NULL) || !sub)
        continue;
      g_autofree char *target = g_strconcat ("usr/", *a, NULL);
      g_autofree char *checksum = write_symlink (u, target, error);
      if (!checksum || !ostree_mutable_tree_replace_file (u->root, *a, checksum, error))
        return FALSE;
      Owner *o = g_new0 (Owner, 1);
      g_hash_table_replace (u->owners, g_strdup (*a), o);
    }
  return TRUE;
}

/* Debian's kernel packages ship boot/vmlinuz-KVER beside usr/lib/modules/KVER/;
 * gen boots usr/lib/modules/KVER/vmlinuz, so add it there (the same object). */
static gboolean
add_kernel_links (Unpack *u, GError **error)
{
  g_autoptr (OstreeMutableTree) boot = NULL;
  g_autofree char *file = NULL;
  if (!ostree_mutable_tree_lookup (u->root, "boot", &file, &boot, NULL) || !boot)
    return TRUE;
  GHashTable *files = ostree_mutable_tree_get_files (boot);
  g_autoptr (GList) names = g_list_sort (g_hash_table_get_keys (files), (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      const char *name = l->data;
      if (!g_str_has_prefix (name, "vmlinuz-") || name[8] == '\0')
        continue;
      g_autofree char *boot_path = g_strconcat ("boot/", name, NULL);
      Owner *o = g_hash_table_lookup (u->owners, boot_path);
      g_autofree char *modules = g_strconcat ("usr/lib/modules/", name + 8, NULL);
      g_autofree char *target = g_strconcat (modules, "/vmlinuz", NULL);
      g_autofree char *existing = lookup_file (u, target);
      if (existing || !o || !o->regular)
        continue;
      /* Only where the kernel's modules are. */
      if (!lookup_dir (u, modules))
        continue;
      const char *checksum = g_hash_table_lookup (files, name);
      GenComposePackage *saved = u->pkg;
      u->pkg = o->pkg;
      gboolean ok = place_file (u, target, checksum, TRUE, o->size, error);
      u->pkg = saved;
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_package_list (Unpack *u, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packages");
  json_builder_begin_array (b);
  for (guint i = 0; i < u->c->packages->len; i++)
    {
      GenComposePackage *pkg = u->c->packages->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, pkg->name);
      json_builder_set_member_name (b, "version");
      json_builder_add_string_value (b, pkg->version);
      json_builder_set_member_name (b, "architecture");
      json_builder_add_string_value (b, pkg->arch);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autofree char *with_newline = g_strconcat (text, "\n", NULL);
  g_autofree char *checksum = ostree_repo_write_regfile_inline (u->repo, NULL, 0, 0, S_IFREG | 0644,
                                                                NULL, (const guint8 *) with_newline,
                                                                len + 1, u->cancellable, error);
  if (!checksum)
    return FALSE;
  u->pkg = NULL;
  /* gen owns this path: a package shipping it is overridden. */
  g_hash_table_remove (u->owners, GEN_COMPOSE_PACKAGES_FILE);
  return place_file (u, GEN_COMPOSE_PACKAGES_FILE, checksum, TRUE, len + 1, error);
}

/* Folders no package described get 0755. */
static gboolean
fill_dirmeta (Unpack *u, OstreeMutableTree *dir, GError **error)
{
  if (!ostree_mutable_tree_get_metadata_checksum (dir))
    {
      const char *meta = dirmeta_for (u, 0755, error);
      if (!meta)
        return FALSE;
      ostree_mutable_tree_set_metadata_checksum (dir, meta);
    }
  GHashTableIter it;
  gpointer sub;
  g_hash_table_iter_init (&it, ostree_mutable_tree_get_subdirs (dir));
  while (g_hash_table_iter_next (&it, NULL, &sub))
    if (!fill_dirmeta (u, sub, error))
      return FALSE;
  return TRUE;
}

gboolean
gen_compose_unpack (GenCompose *c, OstreeRepo *repo, OstreeMutableTree *root,
                    GenProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (GHashTable) owners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) dirmeta = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr (GPtrArray) stripped = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  Unpack u = { c,   repo,     root,      owners, dirmeta, stripped, NULL,       NULL,
               buf, progress, user_data, 0,      0,       0,        cancellable };
  for (guint i = 0; i < c->packages->len; i++)
    {
      u.pkg = c->packages->pdata[i];
      u.label = gen_compose_package_label (u.pkg);
      u.index = i;
      report (&u, TRUE);
      gboolean ok = unpack_deb (&u, error);
      g_clear_pointer (&u.label, g_free);
      if (!ok)
        return FALSE;
    }
  u.index = c->packages->len;
  report (&u, TRUE);
  u.label = g_strdup ("(gen)");
  gboolean ok = add_usr_links (&u, error) && add_kernel_links (&u, error)
                && add_package_list (&u, error) && fill_dirmeta (&u, root, error);
  g_clear_pointer (&u.label, g_free);
  if (!ok)
    return FALSE;

  c->size = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, owners);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Owner *) value)->regular)
      c->size += ((Owner *) value)->size;

  g_autoptr (GPtrArray) skipped = g_ptr_array_new ();
  for (guint i = 0; i < c->packages->len; i++)
    {
      GenComposePackage *pkg = c->packages->pdata[i];
      if (pkg->scripts && pkg->scripts[0])
        g_ptr_array_add (skipped, pkg->name);
    }
  g_strfreev (c->scripts_skipped);
  c->scripts_skipped = sorted_strv (skipped);
  g_strfreev (c->setuid_stripped);
  c->setuid_stripped = sorted_strv (stripped);
  return TRUE;
}
