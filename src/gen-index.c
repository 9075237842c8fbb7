/* gen-index.c: gen/generations.idx (see gen-index.h). */
#include "gen-index.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gen-util.h"

/* The body: a GVariant of this type, after the SHA-256 of its bytes.
 *   magic, generations (number, folder inode, date, os, release checksum,
 *   release version, kernel version, kernel dir, initrd, kernel args,
 *   boot loader, boot limit), files (path, inode, size, mtime ns, ctime ns,
 *   SHA-256 of the text). */
#define INDEX_MAGIC "gen-generations-index-1"
#define INDEX_TYPE "(sa(utmsssmsmsmsbasmsu)a(sttttay))"
#define DIGEST_LEN 32

typedef struct {
  guint64 ino;
  GenGeneration *g;
} Summary;

typedef struct {
  guint64 ino, size, mtime_ns, ctime_ns;
  guint8 digest[DIGEST_LEN];
} FileStamp;

struct _GenIndex {
  GHashTable *gens;     /* number → Summary */
  GHashTable *files;    /* path → FileStamp */
  GHashTable *checked;  /* paths whose stat data this process compared: path → digest */
  GPtrArray *retired;   /* summaries dropped by this process, still borrowed */
  gboolean valid;
  gboolean dirty;
};

static void
summary_free (Summary *s)
{
  gen_generation_free (s->g);
  g_free (s);
}

static GenIndex *
index_new (void)
{
  GenIndex *index = g_new0 (GenIndex, 1);
  index->gens = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) summary_free);
  index->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  index->checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  index->retired = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_generation_free);
  return index;
}

void
gen_index_free (GenIndex *index)
{
  if (!index)
    return;
  g_hash_table_unref (index->gens);
  g_hash_table_unref (index->files);
  g_hash_table_unref (index->checked);
  g_ptr_array_unref (index->retired);
  g_free (index);
}

gboolean
gen_index_was_valid (GenIndex *index)
{
  return index->valid;
}

gboolean
gen_index_is_dirty (GenIndex *index)
{
  return index->dirty;
}

static void
sha256 (const void *data, gsize len, guint8 out[DIGEST_LEN])
{
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (c, data, len);
  gsize n = DIGEST_LEN;
  g_checksum_get_digest (c, out, &n);
}

static GenGeneration *
summary_copy (GenGeneration *g)
{
  GenGeneration *c = gen_generation_new ();
  c->number = g->number;
  c->date = g_strdup (g->date);
  c->os = g_strdup (g->os);
  c->release_checksum = g_strdup (g->release_checksum);
  c->release_version = g_strdup (g->release_version);
  c->kernel_version = g_strdup (g->kernel_version);
  c->kernel_dir = g_strdup (g->kernel_dir);
  c->has_initrd = g->has_initrd;
  c->kernel_args = g_strdupv (g->kernel_args);
  c->boot_loader = g_strdup (g->boot_loader);
  c->boot_limit = g->boot_limit;
  return c;
}

static gboolean
parse (GenIndex *index, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  if (len < DIGEST_LEN)
    return FALSE;
  guint8 digest[DIGEST_LEN];
  sha256 (data + DIGEST_LEN, len - DIGEST_LEN, digest);
  if (memcmp (digest, data, DIGEST_LEN) != 0)
    return FALSE;
  g_autoptr (GBytes) body = g_bytes_new_from_bytes (bytes, DIGEST_LEN, len - DIGEST_LEN);
  g_autoptr (GVariant) v
      = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (INDEX_TYPE), body, FALSE));
  const char *magic;
  g_autoptr (GVariantIter) gens = NULL, files = NULL;
  g_variant_get (v, "(&sa(utmsssmsmsmsbasmsu)a(sttttay))", &magic, &gens, &files);
  if (!g_str_equal (magic, INDEX_MAGIC))
    return FALSE;
  guint32 number, limit;
  guint64 ino;
  const char *date, *os, *checksum, *version, *kver, *kdir, *loader;
  gboolean initrd;
  g_autoptr (GVariantIter) args = NULL;
  while (g_variant_iter_next (gens, "(utm&s&s&sm&sm&sm&sbasm&su)", &number, &ino, &date, &os,
                              &checksum, &version, &kver, &kdir, &initrd, &args, &loader, &limit))
    {
      GenGeneration *g = gen_generation_new ();
      g->number = number;
      g->date = g_strdup (date);
      g->os = g_strdup (os);
      g->release_checksum = g_strdup (checksum);
      g->release_version = g_strdup (version);
      g->kernel_version = g_strdup (kver);
      g->kernel_dir = g_strdup (kdir);
      g->has_initrd = initrd;
      g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
      const char *arg;
      while (g_variant_iter_next (args, "&s", &arg))
        g_strv_builder_add (b, arg);
      g_clear_pointer (&args, g_variant_iter_free);
      g_strfreev (g->kernel_args);
      g->kernel_args = g_strv_builder_end (b);
      g->boot_loader = g_strdup (loader);
      g->boot_limit = limit;
      Summary *s = g_new0 (Summary, 1);
      s->ino = ino;
      s->g = g;
      if (number == 0)
        {
          summary_free (s);
          return FALSE;
        }
      g_hash_table_replace (index->gens, GUINT_TO_POINTER (number), s);
    }
  const char *path;
  GVariant *dv;
  FileStamp st;
  while (g_variant_iter_next (files, "(&stttt@ay)", &path, &st.ino, &st.size, &st.mtime_ns,
                              &st.ctime_ns, &dv))
    {
      gsize n;
      const guint8 *d = g_variant_get_fixed_array (dv, &n, 1);
      if (n == DIGEST_LEN)
        {
          memcpy (st.digest, d, DIGEST_LEN);
          g_hash_table_replace (index->files, g_strdup (path), g_memdup2 (&st, sizeof st));
        }
      g_variant_unref (dv);
    }
  return TRUE;
}

GenIndex *
gen_index_load (int dfd, const char *path)
{
  GenIndex *index = index_new ();
  g_autoptr (GError) error = NULL;
  gsize len;
  char *text = gen_read_file_at (dfd, path, &len, &error);
  if (!text)
    {
      g_debug ("%s: %s; rebuilding it", path, error->message);
      index->dirty = TRUE;
      return index;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (text, len);
  if (!parse (index, bytes))
    {
      g_debug ("%s: damaged or of another format; rebuilding it", path);
      g_hash_table_remove_all (index->gens);
      g_hash_table_remove_all (index->files);
      index->dirty = TRUE;
      return index;
    }
  index->valid = TRUE;
  return index;
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
gen_index_numbers (GenIndex *index)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (guint), g_hash_table_size (index->gens));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, index->gens);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint n = GPOINTER_TO_UINT (key);
      g_array_append_val (out, n);
    }
  g_array_sort (out, compare_uint);
  return out;
}

gboolean
gen_index_save (GenIndex *index, int dfd, const char *path, GError **error)
{
  g_autoptr (GVariantBuilder) gens = g_variant_builder_new (G_VARIANT_TYPE ("a(utmsssmsmsmsbasmsu)"));
  g_autoptr (GArray) numbers = gen_index_numbers (index);
  for (guint i = 0; i < numbers->len; i++)
    {
      Summary *s = g_hash_table_lookup (index->gens,
                                        GUINT_TO_POINTER (g_array_index (numbers, guint, i)));
      GenGeneration *g = s->g;
      const char *const empty[] = { NULL };
      g_variant_builder_add (gens, "(utmsssmsmsmsb^asmsu)", g->number, s->ino, g->date, g->os,
                             g->release_checksum, g->release_version, g->kernel_version,
                             g->kernel_dir, g->has_initrd,
                             g->kernel_args ? (const char *const *) g->kernel_args : empty,
                             g->boot_loader, g->boot_limit);
    }
  g_autoptr (GVariantBuilder) files = g_variant_builder_new (G_VARIANT_TYPE ("a(sttttay)"));
  g_autoptr (GList) paths = g_hash_table_get_keys (index->files);
  paths = g_list_sort (paths, (GCompareFunc) g_strcmp0);
  for (GList *l = paths; l; l = l->next)
    {
      FileStamp *st = g_hash_table_lookup (index->files, l->data);
      g_variant_builder_add (files, "(stttt@ay)", (const char *) l->data, st->ino, st->size,
                             st->mtime_ns, st->ctime_ns,
                             g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, st->digest,
                                                        DIGEST_LEN, 1));
    }
  g_autoptr (GVariant) v = g_variant_ref_sink (
      g_variant_new ("(sa(utmsssmsmsmsbasmsu)a(sttttay))", INDEX_MAGIC, gens, files));
  gsize body_len = g_variant_get_size (v);
  g_autofree guint8 *data = g_malloc (DIGEST_LEN + body_len);
  g_variant_store (v, data + DIGEST_LEN);
  sha256 (data + DIGEST_LEN, body_len, data);
  if (!gen_write_file_at (dfd, path, data, DIGEST_LEN + body_len, 0644, error))
    {
      g_prefix_error (error, "writing %s: ", path);
      return FALSE;
    }
  index->dirty = FALSE;
  index->valid = TRUE;
  return TRUE;
}

GenGeneration *
gen_index_lookup (GenIndex *index, guint number, guint64 ino)
{
  Summary *s = g_hash_table_lookup (index->gens, GUINT_TO_POINTER (number));
  return s && s->ino == ino ? s->g : NULL;
}

GenGeneration *
gen_index_put (GenIndex *index, guint64 ino, GenGeneration *g)
{
  Summary *old = g_hash_table_lookup (index->gens, GUINT_TO_POINTER (g->number));
  if (old)
    {
      /* Whoever borrowed it may still hold it. */
      g_ptr_array_add (index->retired, g_steal_pointer (&old->g));
      g_hash_table_remove (index->gens, GUINT_TO_POINTER (g->number));
    }
  Summary *s = g_new0 (Summary, 1);
  s->ino = ino;
  s->g = summary_copy (g);
  g_hash_table_replace (index->gens, GUINT_TO_POINTER (g->number), s);
  index->dirty = TRUE;
  return s->g;
}

void
gen_index_retain (GenIndex *index, GHashTable *present)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, index->gens);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (!g_hash_table_contains (present, key))
      {
        Summary *s = value;
        g_ptr_array_add (index->retired, g_steal_pointer (&s->g));
        g_hash_table_iter_remove (&it);
        index->dirty = TRUE;
      }
}

static guint64
ns (const struct timespec *t)
{
  return (guint64) t->tv_sec * G_GUINT64_CONSTANT (1000000000) + t->tv_nsec;
}

static gboolean
stamp_of (int dfd, const char *path, FileStamp *out)
{
  struct stat st;
  if (fstatat (dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    return FALSE;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime_ns = ns (&st.st_mtim);
  out->ctime_ns = ns (&st.st_ctim);
  return TRUE;
}

gboolean
gen_index_file_holds (GenIndex *index, int dfd, const char *path, const char *text)
{
  const guint8 *known = g_hash_table_lookup (index->checked, path);
  if (!known)
    {
      FileStamp *kept = g_hash_table_lookup (index->files, path);
      FileStamp now;
      if (!kept || !stamp_of (dfd, path, &now) || now.ino != kept->ino || now.size != kept->size
          || now.mtime_ns != kept->mtime_ns || now.ctime_ns != kept->ctime_ns)
        return FALSE;
      known = kept->digest;
      g_hash_table_replace (index->checked, g_strdup (path), g_memdup2 (known, DIGEST_LEN));
    }
  guint8 digest[DIGEST_LEN];
  sha256 (text, strlen (text), digest);
  return memcmp (digest, known, DIGEST_LEN) == 0;
}

void
gen_index_note_file (GenIndex *index, int dfd, const char *path, const char *text)
{
  FileStamp st;
  if (!stamp_of (dfd, path, &st))
    {
      gen_index_forget_file (index, path);
      return;
    }
  sha256 (text, strlen (text), st.digest);
  g_hash_table_replace (index->checked, g_strdup (path), g_memdup2 (st.digest, DIGEST_LEN));
  /* Racy: a change in the same clock tick could leave the stat data as they
   * are.  Such a file is read again by a later run, which notes it then. */
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  gboolean racy = st.mtime_ns + GEN_INDEX_RACY_SECONDS * G_GUINT64_CONSTANT (1000000000)
                  >= ns (&now);
  FileStamp *kept = g_hash_table_lookup (index->files, path);
  if (racy)
    {
      if (kept)
        {
          g_hash_table_remove (index->files, path);
          index->dirty = TRUE;
        }
      return;
    }
  if (kept && memcmp (kept, &st, sizeof st) == 0)
    return;
  g_hash_table_replace (index->files, g_strdup (path), g_memdup2 (&st, sizeof st));
  index->dirty = TRUE;
}

void
gen_index_forget_file (GenIndex *index, const char *path)
{
  g_hash_table_remove (index->checked, path);
  if (g_hash_table_remove (index->files, path))
    index->dirty = TRUE;
}
