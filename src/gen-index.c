/* gen-index.c: gen/generations.idx (see gen-index.h). */
#include "gen-index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "gen-data.h"
#include "gen-util.h"

/* The file: the CRC-32 of the body and the CRC-32 of the texts (4 bytes
 * each), the body's length (8 bytes), all little-endian; the body; the texts.
 *   The body, a GVariant of INDEX_TYPE: magic, last, numbers (ascending),
 *   their folders' inodes, their records (RECORD_TYPE, in the order of
 *   GenGeneration's members), menu files (FILES_TYPE), folder records
 *   (DIRS_TYPE), the digest of the menu last written (empty: none).
 *   The texts: each record as gen_generation_json_text() gives it (what
 *   `gen list --json` prints), aligned with the numbers, each ended by a NUL
 *   (read in place: copying them out was a third of a save at 1,000
 *   generations).
 * The body is checked when the file is read; the texts, half the file, only
 * when one is first asked for: rollback reads none.  The checksums catch a
 * damaged or torn file (the index is a cache: what it says is checked
 * against the folders and files it describes); CRC-32 costs a tenth of
 * SHA-256 here, which at 1,000 generations was most of a rollback.  So that
 * a damaged file that slipped past its CRC is never unsafe to read, the
 * variants are not marked trusted. */
#define INDEX_MAGIC "gen-generations-index-6"
/* date, os, release checksum, version and packages, kernel version, dir,
 * initrd and args, manifest path, revision and dirty, config digest, data
 * (source, schema, reads), data paths, boot loader and limit. */
#define RECORD_TYPE "(msssmsumsmsbasmsmsbms(uuau)asmsu)"
/* Positions of members read alone. */
#define RECORD_CHECKSUM 2
#define RECORD_KERNEL_DIR 6
#define RECORD_DATA 13 /* (source, schema, reads) */
/* Menu files: their paths, each ended by a NUL; per file STAMP_WORDS
 * numbers (inode, size, mtime ns, ctime ns, whether "from" was noted); per
 * file the SHA-256 of its text and what it was made from (zeros when not
 * noted).  Three arrays, not an array of tuples: at 1,000 generations the
 * tuples were a third of a save. */
#define FILES_TYPE "(ayatay)"
#define STAMP_WORDS 5
/* Folder records: name, path, inode, mtime ns, ctime ns, link count, when
 * the stat data were taken (ns), the listing's digest (empty: not listed). */
#define DIRS_TYPE "a(sstttttay)"
#define INDEX_TYPE "(suauata" RECORD_TYPE FILES_TYPE DIRS_TYPE "ay)"
#define DIGEST_LEN 32
#define HEAD_LEN (4 + 4 + 8) /* a multiple of 8: the body stays aligned */

typedef struct
{
  guint64 ino, size, mtime_ns, ctime_ns;
  guint8 digest[DIGEST_LEN];
  guint8 from[GEN_INDEX_FROM_LEN]; /* what the text was made from, as the writer put it */
  guint64 has_from;                /* 64 bits: no padding, stamps are compared with memcmp */
} FileStamp;

typedef struct
{
  char *path;
  guint64 ino, mtime_ns, ctime_ns, nlink, at_ns;
  gboolean listed; /* racy: then the listing's digest */
  guint8 listing[DIGEST_LEN];
} DirStamp;

/* One generation's record: kept serialized, decoded only when asked for. */
typedef struct
{
  GVariant *v;      /* RECORD_TYPE */
  GenGeneration *g; /* v decoded, on first use */
  const char *json; /* gen_generation_json_text(): in the loaded texts, or own_json */
  char *own_json;   /* made on first use */
} Entry;

struct _GenIndex
{
  guint last;
  GArray *numbers;        /* guint, ascending */
  GArray *inos;           /* guint64, aligned with numbers */
  GPtrArray *entries;     /* Entry, or NULL while only in `loaded`; aligned */
  GVariant *loaded;       /* the records as read, while numbers are as read */
  GBytes *texts;          /* the texts as read (unchecked), while numbers are as read */
  guint32 texts_crc;
  GBytes *loaded_texts;   /* the texts once checked; entries point into them */
  GPtrArray *text_at;     /* const char *, aligned with the numbers as read; NULL: none */
  GHashTable *files;      /* path → FileStamp, once read from `loaded_files` */
  GVariant *loaded_files; /* the file stamps as read, until first used */
  GHashTable *checked;    /* paths whose content this process knows: path → digest */
  GHashTable *stamped;    /* paths of `files` this process saw with their stat data */
  GHashTable *dirs;       /* name → DirStamp */
  guint8 menu_key[DIGEST_LEN];
  gboolean has_menu_key;
  GPtrArray *retired; /* entries dropped by this process, still borrowed */
  gboolean valid;
  gboolean dirty;
};

static void
dir_stamp_free (DirStamp *d)
{
  g_free (d->path);
  g_free (d);
}

static void
entry_free (gpointer p)
{
  Entry *e = p;
  if (!e)
    return;
  g_variant_unref (e->v);
  if (e->g)
    gen_generation_free (e->g);
  g_free (e->own_json);
  g_free (e);
}

static GenIndex *
index_new (void)
{
  GenIndex *index = g_new0 (GenIndex, 1);
  index->numbers = g_array_new (FALSE, FALSE, sizeof (guint));
  index->inos = g_array_new (FALSE, FALSE, sizeof (guint64));
  index->entries = g_ptr_array_new_with_free_func (entry_free);
  index->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  index->checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  index->stamped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->dirs
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) dir_stamp_free);
  index->retired = g_ptr_array_new_with_free_func (entry_free);
  return index;
}

static void
clear (GenIndex *index)
{
  index->last = 0;
  g_array_set_size (index->numbers, 0);
  g_array_set_size (index->inos, 0);
  g_ptr_array_set_size (index->entries, 0);
  g_clear_pointer (&index->loaded, g_variant_unref);
  g_clear_pointer (&index->texts, g_bytes_unref);
  g_clear_pointer (&index->loaded_texts, g_bytes_unref);
  g_clear_pointer (&index->text_at, g_ptr_array_unref);
  g_clear_pointer (&index->loaded_files, g_variant_unref);
  g_hash_table_remove_all (index->files);
  g_hash_table_remove_all (index->stamped);
  g_hash_table_remove_all (index->dirs);
  index->has_menu_key = FALSE;
}

void
gen_index_free (GenIndex *index)
{
  if (!index)
    return;
  g_array_unref (index->numbers);
  g_array_unref (index->inos);
  g_ptr_array_unref (index->entries);
  g_clear_pointer (&index->loaded, g_variant_unref);
  g_clear_pointer (&index->texts, g_bytes_unref);
  g_clear_pointer (&index->loaded_texts, g_bytes_unref);
  g_clear_pointer (&index->text_at, g_ptr_array_unref);
  g_clear_pointer (&index->loaded_files, g_variant_unref);
  g_hash_table_unref (index->files);
  g_hash_table_unref (index->checked);
  g_hash_table_unref (index->stamped);
  g_hash_table_unref (index->dirs);
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

static guint32
crc_of (const void *data, gsize len)
{
  return crc32_z (crc32_z (0, Z_NULL, 0), data, len);
}

static guint32
crc_at (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static void
sha256 (const void *data, gsize len, guint8 out[DIGEST_LEN])
{
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (c, data, len);
  gsize n = DIGEST_LEN;
  g_checksum_get_digest (c, out, &n);
}

/* The entry at @pos, taken from the loaded file on first use. */
static Entry *
entry_at (GenIndex *index, guint pos)
{
  Entry *e = index->entries->pdata[pos];
  if (!e)
    {
      e = g_new0 (Entry, 1);
      e->v = g_variant_get_child_value (index->loaded, pos);
      index->entries->pdata[pos] = e;
    }
  return e;
}

/* The record at @pos, decoded on first use. */
static GenGeneration *
record_at (GenIndex *index, guint pos)
{
  Entry *e = entry_at (index, pos);
  if (e->g)
    return e->g;
  const char *date, *os, *checksum, *version, *kver, *kdir, *mpath, *mrev, *digest, *loader;
  guint32 packages, source, schema, limit;
  gboolean initrd, dirty;
  g_autofree const char **args = NULL, **paths = NULL;
  g_autoptr (GVariant) reads = NULL;
  g_variant_get (e->v, "(m&s&s&sm&sum&sm&sb^a&sm&sm&sbm&s(uu@au)^a&sm&su)", &date, &os,
                 &checksum, &version, &packages, &kver, &kdir, &initrd, &args, &mpath, &mrev,
                 &dirty, &digest, &source, &schema, &reads, &paths, &loader, &limit);
  GenGeneration *g = gen_generation_new ();
  g->number = g_array_index (index->numbers, guint, pos);
  g->date = g_strdup (date);
  g->os = g_strdup (os);
  g->release_checksum = g_strdup (checksum);
  g->release_version = g_strdup (version);
  g->release_packages = packages;
  g->kernel_version = g_strdup (kver);
  g->kernel_dir = g_strdup (kdir);
  g->has_initrd = initrd;
  g->kernel_args = g_strdupv ((char **) args);
  g->manifest_path = g_strdup (mpath);
  g->manifest_revision = g_strdup (mrev);
  g->manifest_dirty = dirty;
  g->config_digest = g_strdup (digest);
  g->data->source = source <= GEN_DATA_BY_MANIFEST ? source : GEN_DATA_UNDECLARED;
  g->data->schema = schema;
  gsize n_reads;
  const guint32 *r = g_variant_get_fixed_array (reads, &n_reads, sizeof (guint32));
  g_array_set_size (g->data->reads, 0);
  g_array_append_vals (g->data->reads, r, n_reads);
  g_strfreev (g->data_paths);
  g->data_paths = g_strdupv ((char **) paths);
  g->boot_loader = g_strdup (loader);
  g->boot_limit = limit;
  e->g = g;
  return g;
}

/* An entry for @g (copied), serialized. */
static Entry *
entry_new (GenGeneration *g)
{
  Entry *e = g_new0 (Entry, 1);
  e->g = gen_generation_copy (g);
  e->json = e->own_json = gen_generation_json_text (g);
  const char *const empty[] = { NULL };
  GVariant *reads = g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, g->data->reads->data,
                                               g->data->reads->len, sizeof (guint32));
  e->v = g_variant_ref_sink (g_variant_new (
      "(msssmsumsmsb^asmsmsbms(uu@au)^asmsu)", g->date, g->os, g->release_checksum,
      g->release_version, g->release_packages, g->kernel_version, g->kernel_dir, g->has_initrd,
      g->kernel_args ? (const char *const *) g->kernel_args : empty, g->manifest_path,
      g->manifest_revision, g->manifest_dirty, g->config_digest, g->data->source, g->data->schema,
      reads, g->data_paths ? (const char *const *) g->data_paths : empty, g->boot_loader,
      g->boot_limit));
  return e;
}

/* The texts as read, checked and split on first use: NULL when they do not
 * match their checksum or the numbers (then each text is made again from its
 * record). */
static GPtrArray *
loaded_texts (GenIndex *index)
{
  if (!index->texts)
    return index->text_at;
  g_autoptr (GBytes) texts = g_steal_pointer (&index->texts);
  gsize len;
  const char *data = g_bytes_get_data (texts, &len);
  g_autoptr (GPtrArray) at = g_ptr_array_sized_new (index->numbers->len);
  gboolean ok = crc_of (data, len) == index->texts_crc && (len == 0 || data[len - 1] == '\0');
  for (const char *p = data, *end = data + len; ok && p < end; p += strlen (p) + 1)
    g_ptr_array_add (at, (gpointer) p);
  if (!ok || at->len != index->numbers->len)
    {
      g_debug ("%s: its texts are damaged; making them again", GEN_INDEX_FILE);
      return NULL;
    }
  index->loaded_texts = g_steal_pointer (&texts);
  index->text_at = g_steal_pointer (&at);
  return index->text_at;
}

/* The text of the record at @pos, taken from the loaded file or made on first use. */
static const char *
json_at (GenIndex *index, guint pos)
{
  Entry *e = entry_at (index, pos);
  if (e->json)
    return e->json;
  GPtrArray *texts = index->loaded ? loaded_texts (index) : NULL;
  e->json = texts ? texts->pdata[pos]
                  : (e->own_json = gen_generation_json_text (record_at (index, pos)));
  return e->json;
}

/* Before the list of generations changes: every entry taken from the
 * loaded file (not decoded), so that positions can move.  Their texts stay
 * where they are, in index->loaded_texts. */
static void
materialize (GenIndex *index)
{
  if (!index->loaded)
    return;
  GPtrArray *texts = loaded_texts (index);
  for (guint i = 0; i < index->entries->len; i++)
    {
      Entry *e = entry_at (index, i);
      if (texts && !e->json)
        e->json = texts->pdata[i];
    }
  g_clear_pointer (&index->loaded, g_variant_unref);
  g_clear_pointer (&index->text_at, g_ptr_array_unref);
}

/* The file stamps, from the loaded file on first use. */
static GHashTable *
file_stamps (GenIndex *index)
{
  if (!index->loaded_files)
    return index->files;
  g_autoptr (GVariant) files = g_steal_pointer (&index->loaded_files);
  g_autoptr (GVariant) pv = g_variant_get_child_value (files, 0);
  g_autoptr (GVariant) sv = g_variant_get_child_value (files, 1);
  g_autoptr (GVariant) dv = g_variant_get_child_value (files, 2);
  gsize n_paths, n_words, n_bytes;
  const char *paths = g_variant_get_fixed_array (pv, &n_paths, 1);
  const guint64 *w = g_variant_get_fixed_array (sv, &n_words, sizeof (guint64));
  const guint8 *d = g_variant_get_fixed_array (dv, &n_bytes, 1);
  gsize n = n_words / STAMP_WORDS;
  gsize n_names = 0;
  for (gsize i = 0; i < n_paths; i++)
    n_names += paths[i] == '\0';
  if (n_words % STAMP_WORDS != 0 || n_bytes != n * (DIGEST_LEN + GEN_INDEX_FROM_LEN)
      || n_names != n || (n_paths > 0 && paths[n_paths - 1] != '\0'))
    return index->files; /* damaged: the files are read again */
  const char *p = paths;
  for (gsize i = 0; i < n; i++, w += STAMP_WORDS, d += DIGEST_LEN + GEN_INDEX_FROM_LEN)
    {
      FileStamp st = {
        .ino = w[0], .size = w[1], .mtime_ns = w[2], .ctime_ns = w[3], .has_from = w[4] != 0
      };
      memcpy (st.digest, d, DIGEST_LEN);
      memcpy (st.from, d + DIGEST_LEN, GEN_INDEX_FROM_LEN);
      g_hash_table_replace (index->files, g_strdup (p), g_memdup2 (&st, sizeof st));
      p += strlen (p) + 1;
    }
  return index->files;
}

static gboolean
parse (GenIndex *index, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  if (len < HEAD_LEN)
    return FALSE;
  guint64 body_len;
  memcpy (&body_len, data + 8, sizeof body_len);
  body_len = GUINT64_FROM_LE (body_len);
  if (body_len == 0 || body_len > len - HEAD_LEN)
    return FALSE; /* 0: a file of zeros would match its CRC */
  if (crc_of (data + HEAD_LEN, body_len) != crc_at (data))
    return FALSE;
  g_autoptr (GBytes) body = g_bytes_new_from_bytes (bytes, HEAD_LEN, body_len);
  g_autoptr (GVariant) v
      = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (INDEX_TYPE), body, FALSE));
  g_autoptr (GVariant) magic = g_variant_get_child_value (v, 0);
  if (!g_str_equal (g_variant_get_string (magic, NULL), INDEX_MAGIC))
    return FALSE;
  g_autoptr (GVariant) last = g_variant_get_child_value (v, 1);
  g_autoptr (GVariant) numbers = g_variant_get_child_value (v, 2);
  g_autoptr (GVariant) inos = g_variant_get_child_value (v, 3);
  g_autoptr (GVariant) records = g_variant_get_child_value (v, 4);
  gsize n_numbers, n_inos;
  const guint32 *nums = g_variant_get_fixed_array (numbers, &n_numbers, sizeof (guint32));
  const guint64 *ins = g_variant_get_fixed_array (inos, &n_inos, sizeof (guint64));
  if (n_numbers != n_inos || n_numbers != g_variant_n_children (records))
    return FALSE;
  for (gsize i = 0; i < n_numbers; i++)
    if (nums[i] == 0 || (i > 0 && nums[i] <= nums[i - 1]))
      return FALSE;
  index->last = g_variant_get_uint32 (last);
  g_array_append_vals (index->numbers, nums, n_numbers);
  g_array_append_vals (index->inos, ins, n_inos);
  g_ptr_array_set_size (index->entries, n_numbers);
  index->loaded = g_steal_pointer (&records);
  /* Checked when first used (loaded_texts()). */
  index->texts = g_bytes_new_from_bytes (bytes, HEAD_LEN + body_len, len - HEAD_LEN - body_len);
  index->texts_crc = crc_at (data + 4);

  /* Needed only when the menu is written: read then. */
  index->loaded_files = g_variant_get_child_value (v, 5);
  GVariantIter it;
  g_autoptr (GVariant) dirs = g_variant_get_child_value (v, 6);
  const char *name, *dpath;
  DirStamp ds = { 0 };
  GVariant *lv;
  g_variant_iter_init (&it, dirs);
  while (g_variant_iter_next (&it, "(&s&sttttt@ay)", &name, &dpath, &ds.ino, &ds.mtime_ns,
                              &ds.ctime_ns, &ds.nlink, &ds.at_ns, &lv))
    {
      gsize n;
      const guint8 *l = g_variant_get_fixed_array (lv, &n, 1);
      ds.listed = n == DIGEST_LEN;
      if (ds.listed)
        memcpy (ds.listing, l, DIGEST_LEN);
      else
        memset (ds.listing, 0, DIGEST_LEN);
      g_variant_unref (lv);
      DirStamp *d = g_memdup2 (&ds, sizeof ds);
      d->path = g_strdup (dpath);
      g_hash_table_replace (index->dirs, g_strdup (name), d);
    }
  g_autoptr (GVariant) key = g_variant_get_child_value (v, 7);
  gsize key_len;
  const guint8 *k = g_variant_get_fixed_array (key, &key_len, 1);
  if (key_len == DIGEST_LEN)
    {
      memcpy (index->menu_key, k, DIGEST_LEN);
      index->has_menu_key = TRUE;
    }
  return TRUE;
}

GenIndex *
gen_index_load (int dfd, const char *path)
{
  GenIndex *index = index_new ();
  g_autoptr (GError) error = NULL;
  /* Mapped, not read: the variants are used in place (a copy costs a page
   * fault per 4 KiB, 4 ms for a 1 MB index here).  gen replaces the file by
   * a rename, never in place. */
  gen_autofd fd = openat (dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  g_autoptr (GMappedFile) map = fd >= 0 ? g_mapped_file_new_from_fd (fd, FALSE, &error) : NULL;
  if (!map)
    {
      g_debug ("%s: %s; rebuilding it", path, error ? error->message : g_strerror (errno));
      index->dirty = TRUE;
      return index;
    }
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (map);
  if (!parse (index, bytes))
    {
      g_debug ("%s: damaged or of another format; rebuilding it", path);
      clear (index);
      index->dirty = TRUE;
      return index;
    }
  index->valid = TRUE;
  return index;
}

guint
gen_index_last (GenIndex *index)
{
  return index->last;
}

void
gen_index_set_last (GenIndex *index, guint last)
{
  if (index->last != last)
    index->dirty = TRUE;
  index->last = last;
}

const guint *
gen_index_numbers (GenIndex *index, guint *out_len)
{
  *out_len = index->numbers->len;
  return (const guint *) index->numbers->data;
}

/* The position of @number, or where it would go; *@found whether it is there. */
static guint
find (GenIndex *index, guint number, gboolean *found)
{
  guint lo = 0, hi = index->numbers->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      guint n = g_array_index (index->numbers, guint, mid);
      if (n == number)
        {
          *found = TRUE;
          return mid;
        }
      if (n < number)
        lo = mid + 1;
      else
        hi = mid;
    }
  *found = FALSE;
  return lo;
}

static gboolean
dir_matches (const DirStamp *d, const struct stat *st)
{
  return d->ino == st->st_ino && d->mtime_ns == gen_ns (&st->st_mtim)
         && d->ctime_ns == gen_ns (&st->st_ctim) && d->nlink == st->st_nlink;
}

G_STATIC_ASSERT (sizeof (((GenDirStamp *) NULL)->listing) == DIGEST_LEN);

static gboolean
is_racy (const DirStamp *d)
{
  return gen_racy (d->mtime_ns, d->ctime_ns, d->at_ns);
}

/* The digest of @path's names and inodes, in the order readdir gives them
 * (the same while the folder does not change). */
static gboolean
listing_digest (int dfd, const char *path, guint8 out[DIGEST_LEN])
{
  int fd = openat (dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  struct dirent *de;
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      guint64 ino = de->d_ino;
      g_checksum_update (c, (const guchar *) de->d_name, strlen (de->d_name) + 1);
      g_checksum_update (c, (const guchar *) &ino, sizeof ino);
    }
  int saved = errno;
  closedir (d);
  if (saved != 0)
    {
      errno = saved;
      return FALSE;
    }
  gsize n = DIGEST_LEN;
  g_checksum_get_digest (c, out, &n);
  return TRUE;
}

gboolean
gen_index_dir_stamp (int dfd, const char *path, GenDirStamp *out)
{
  memset (out, 0, sizeof *out);
  /* The time first: a change after it cannot keep the stat data, unless
   * they are racy. */
  out->at_ns = gen_now_ns ();
  /* Following a symlink, where the checks do not: a folder that is a
   * symlink is then never trusted (more work, never a missed change). */
  if (fstatat (dfd, path, &out->st, 0) < 0)
    return FALSE;
  if (gen_stat_racy (&out->st, out->at_ns))
    out->listed = listing_digest (dfd, path, out->listing);
  return TRUE;
}

gboolean
gen_index_save (GenIndex *index, int dfd, const char *path, GError **error)
{
  /* A folder that changed since it was checked is not known any more. */
  GHashTableIter hi;
  gpointer key, value;
  g_hash_table_iter_init (&hi, index->dirs);
  while (g_hash_table_iter_next (&hi, &key, &value))
    {
      DirStamp *d = value;
      struct stat st;
      if (fstatat (dfd, d->path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !dir_matches (d, &st)
          || (is_racy (d) && !d->listed))
        g_hash_table_iter_remove (&hi);
    }
  /* When no generation came or went since the file was read (a rollback, a
   * cleanup), its records and texts are written again as they were, whole
   * (the texts even unchecked, with their checksum). */
  g_autoptr (GVariant) records = NULL;
  if (index->loaded)
    records = g_variant_ref (index->loaded);
  else
    {
      g_autoptr (GVariantBuilder) b = g_variant_builder_new (G_VARIANT_TYPE ("a" RECORD_TYPE));
      for (guint i = 0; i < index->numbers->len; i++)
        g_variant_builder_add_value (b, entry_at (index, i)->v);
      records = g_variant_ref_sink (g_variant_builder_end (b));
    }
  GBytes *same_texts = !index->loaded ? NULL
                       : index->loaded_texts ? index->loaded_texts
                                             : index->texts;
  /* The texts are written from where they lie (the file first read, or this
   * process's own), not copied: at 1,000 generations a copy of their 700 KB
   * took 4 ms, most of it page faults.  Neighbours make one part, so the
   * texts of a file read and then added to are two or three parts. */
  g_autoptr (GArray) parts = g_array_new (FALSE, FALSE, sizeof (struct iovec));
  struct iovec whole = { NULL, 0 };
  g_array_append_val (parts, whole); /* the head and body, below */
  guint32 texts_crc = crc32_z (0, Z_NULL, 0);
  if (same_texts)
    {
      whole.iov_base = (void *) g_bytes_get_data (same_texts, &whole.iov_len);
      g_array_append_val (parts, whole);
      texts_crc = index->texts_crc;
    }
  for (guint i = 0; !same_texts && i < index->numbers->len; i++)
    {
      const char *text = json_at (index, i);
      gsize text_len = strlen (text) + 1;
      texts_crc = crc32_z (texts_crc, (const guint8 *) text, text_len);
      struct iovec *last = &g_array_index (parts, struct iovec, parts->len - 1);
      if (parts->len > 1 && (const char *) last->iov_base + last->iov_len == text)
        last->iov_len += text_len;
      else
        {
          struct iovec part = { (void *) text, text_len };
          g_array_append_val (parts, part);
        }
    }
  guint n_files = g_hash_table_size (file_stamps (index));
  g_autoptr (GString) paths = g_string_sized_new (n_files * 32);
  g_autoptr (GArray) words
      = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n_files * STAMP_WORDS);
  g_autoptr (GByteArray) digests
      = g_byte_array_sized_new (n_files * (DIGEST_LEN + GEN_INDEX_FROM_LEN));
  g_hash_table_iter_init (&hi, index->files);
  while (g_hash_table_iter_next (&hi, &key, &value))
    {
      const FileStamp *st = value;
      g_string_append_len (paths, key, strlen (key) + 1);
      guint64 w[STAMP_WORDS] = { st->ino, st->size, st->mtime_ns, st->ctime_ns, st->has_from };
      g_array_append_vals (words, w, STAMP_WORDS);
      g_byte_array_append (digests, st->digest, DIGEST_LEN);
      g_byte_array_append (digests, st->from, GEN_INDEX_FROM_LEN);
    }
  GVariant *files[] = {
    g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, paths->str, paths->len, 1),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, words->data, words->len, sizeof (guint64)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, digests->data, digests->len, 1),
  };
  g_autoptr (GVariantBuilder) dirs = g_variant_builder_new (G_VARIANT_TYPE (DIRS_TYPE));
  g_hash_table_iter_init (&hi, index->dirs);
  while (g_hash_table_iter_next (&hi, &key, &value))
    {
      DirStamp *d = value;
      GVariant *listing = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, d->listing,
                                                     d->listed ? DIGEST_LEN : 0, 1);
      g_variant_builder_add (dirs, "(ssttttt@ay)", (const char *) key, d->path, d->ino,
                             d->mtime_ns, d->ctime_ns, d->nlink, d->at_ns, listing);
    }
  GVariant *children[] = {
    g_variant_new_string (INDEX_MAGIC),
    g_variant_new_uint32 (index->last),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, index->numbers->data, index->numbers->len,
                               sizeof (guint32)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, index->inos->data, index->inos->len,
                               sizeof (guint64)),
    records,
    g_variant_new_tuple (files, G_N_ELEMENTS (files)),
    g_variant_builder_end (dirs),
    g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, index->menu_key,
                               index->has_menu_key ? DIGEST_LEN : 0, 1),
  };
  g_autoptr (GVariant) v
      = g_variant_ref_sink (g_variant_new_tuple (children, G_N_ELEMENTS (children)));
  gsize body_len = g_variant_get_size (v);
  g_autofree guint8 *data = g_malloc (HEAD_LEN + body_len);
  g_variant_store (v, data + HEAD_LEN);
  guint32 head[2] = { GUINT32_TO_LE (crc_of (data + HEAD_LEN, body_len)),
                      GUINT32_TO_LE (texts_crc) };
  guint64 le = GUINT64_TO_LE ((guint64) body_len);
  memcpy (data, head, sizeof head);
  memcpy (data + sizeof head, &le, sizeof le);
  g_array_index (parts, struct iovec, 0) = (struct iovec){ data, HEAD_LEN + body_len };
  if (!gen_write_cache_file_at (dfd, path, (const struct iovec *) parts->data, parts->len, 0644,
                                error))
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
  gboolean found;
  guint pos = find (index, number, &found);
  if (!found || (ino && g_array_index (index->inos, guint64, pos) != ino))
    return NULL;
  return record_at (index, pos);
}

const char *
gen_index_lookup_json (GenIndex *index, guint number, guint schema, gboolean *out_reads)
{
  gboolean found;
  guint pos = find (index, number, &found);
  if (!found)
    return NULL;
  Entry *e = entry_at (index, pos);
  /* The text and one member, not the whole record: this runs for every generation. */
  const char *json = json_at (index, pos);
  g_autoptr (GVariant) data = g_variant_get_child_value (e->v, RECORD_DATA);
  g_autoptr (GVariant) reads = g_variant_get_child_value (data, 2);
  gsize n;
  const guint32 *r = g_variant_get_fixed_array (reads, &n, sizeof (guint32));
  *out_reads = gen_data_reads_contain (r, n, schema);
  return json;
}

gboolean
gen_index_lookup_deploy (GenIndex *index, guint number, const char **out_checksum,
                         const char **out_kernel_dir)
{
  gboolean found;
  guint pos = find (index, number, &found);
  if (!found)
    return FALSE;
  Entry *e = entry_at (index, pos);
  if (e->g)
    {
      *out_checksum = e->g->release_checksum;
      *out_kernel_dir = e->g->kernel_dir;
      return TRUE;
    }
  /* Two members, not the whole record: cleanup asks this of every generation.
   * The strings live in e->v's serialized data. */
  g_autoptr (GVariant) checksum = g_variant_get_child_value (e->v, RECORD_CHECKSUM);
  g_autoptr (GVariant) kdir = g_variant_get_child_value (e->v, RECORD_KERNEL_DIR);
  g_autoptr (GVariant) kdir_value = g_variant_get_maybe (kdir);
  *out_checksum = g_variant_get_string (checksum, NULL);
  *out_kernel_dir = kdir_value ? g_variant_get_string (kdir_value, NULL) : NULL;
  return TRUE;
}

guint64
gen_index_folder_ino (GenIndex *index, guint number)
{
  gboolean found;
  guint pos = find (index, number, &found);
  return found ? g_array_index (index->inos, guint64, pos) : 0;
}

GenGeneration *
gen_index_put (GenIndex *index, guint64 ino, GenGeneration *g)
{
  materialize (index);
  gboolean found;
  guint pos = find (index, g->number, &found);
  Entry *e = entry_new (g);
  if (found)
    {
      /* Whoever borrowed the old one may still hold it. */
      g_ptr_array_add (index->retired, g_steal_pointer (&index->entries->pdata[pos]));
      index->entries->pdata[pos] = e;
      g_array_index (index->inos, guint64, pos) = ino;
    }
  else
    {
      g_array_insert_val (index->numbers, pos, g->number);
      g_array_insert_val (index->inos, pos, ino);
      g_ptr_array_insert (index->entries, pos, e);
    }
  index->dirty = TRUE;
  return e->g;
}

void
gen_index_retain (GenIndex *index, GHashTable *present)
{
  for (guint i = index->numbers->len; i > 0; i--)
    {
      guint n = g_array_index (index->numbers, guint, i - 1);
      if (g_hash_table_contains (present, GUINT_TO_POINTER (n)))
        continue;
      materialize (index);
      g_ptr_array_add (index->retired, g_steal_pointer (&index->entries->pdata[i - 1]));
      g_ptr_array_remove_index (index->entries, i - 1);
      g_array_remove_index (index->numbers, i - 1);
      g_array_remove_index (index->inos, i - 1);
      index->dirty = TRUE;
    }
}

void
gen_index_record_dir (GenIndex *index, const char *name, const char *path,
                      const GenDirStamp *stamp)
{
  DirStamp *d = g_new0 (DirStamp, 1);
  d->path = g_strdup (path);
  d->ino = stamp->st.st_ino;
  d->mtime_ns = gen_ns (&stamp->st.st_mtim);
  d->ctime_ns = gen_ns (&stamp->st.st_ctim);
  d->nlink = stamp->st.st_nlink;
  d->at_ns = stamp->at_ns;
  d->listed = stamp->listed;
  memcpy (d->listing, stamp->listing, DIGEST_LEN);
  /* A record that stays as it was (and as trusted) need not be saved again. */
  DirStamp *old = g_hash_table_lookup (index->dirs, name);
  if (old && g_str_equal (old->path, path) && dir_matches (old, &stamp->st)
      && is_racy (old) == is_racy (d)
      && (!is_racy (d)
          || (old->listed == d->listed && memcmp (old->listing, d->listing, DIGEST_LEN) == 0)))
    {
      dir_stamp_free (d);
      return;
    }
  g_hash_table_replace (index->dirs, g_strdup (name), d);
  index->dirty = TRUE;
}

gboolean
gen_index_dir_trusted (GenIndex *index, int dfd, const char *name)
{
  DirStamp *d = g_hash_table_lookup (index->dirs, name);
  guint64 at = gen_now_ns ();
  struct stat st;
  if (!d || fstatat (dfd, d->path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !dir_matches (d, &st))
    return FALSE;
  if (!is_racy (d))
    return TRUE;
  guint8 now[DIGEST_LEN];
  if (!d->listed || !listing_digest (dfd, d->path, now)
      || memcmp (now, d->listing, DIGEST_LEN) != 0)
    return FALSE;
  /* The same names, and stat data that are no longer racy: from now on
   * they stand for them, and later runs need not list the folder. */
  if (!gen_racy (d->mtime_ns, d->ctime_ns, at))
    {
      d->at_ns = at;
      d->listed = FALSE;
      index->dirty = TRUE;
    }
  return TRUE;
}

void
gen_index_forget_dir (GenIndex *index, const char *name)
{
  if (g_hash_table_remove (index->dirs, name))
    index->dirty = TRUE;
}

const guint8 *
gen_index_menu_key (GenIndex *index)
{
  return index->has_menu_key ? index->menu_key : NULL;
}

void
gen_index_set_menu_key (GenIndex *index, const guint8 *key)
{
  if (!key)
    {
      index->dirty |= index->has_menu_key;
      index->has_menu_key = FALSE;
      return;
    }
  if (index->has_menu_key && memcmp (index->menu_key, key, DIGEST_LEN) == 0)
    return;
  memcpy (index->menu_key, key, DIGEST_LEN);
  index->has_menu_key = TRUE;
  index->dirty = TRUE;
}

static gboolean
stamp_of (int dfd, const char *path, FileStamp *out)
{
  struct stat st;
  if (fstatat (dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    return FALSE;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime_ns = gen_ns (&st.st_mtim);
  out->ctime_ns = gen_ns (&st.st_ctim);
  return TRUE;
}

/* The stamp noted for @path, when the file still has its stat data.  Once
 * seen so, a file is not looked at again in this run (which holds the lock):
 * a switch's two menu passes ask for every entry, 1,000 at 1,000
 * generations. */
static FileStamp *
kept_stamp (GenIndex *index, int dfd, const char *path)
{
  FileStamp *kept = g_hash_table_lookup (file_stamps (index), path);
  if (!kept || g_hash_table_contains (index->stamped, path))
    return kept;
  FileStamp now;
  if (!stamp_of (dfd, path, &now) || now.ino != kept->ino || now.size != kept->size
      || now.mtime_ns != kept->mtime_ns || now.ctime_ns != kept->ctime_ns)
    return NULL;
  g_hash_table_add (index->stamped, g_strdup (path));
  return kept;
}

gboolean
gen_index_file_holds (GenIndex *index, int dfd, const char *path, const char *text)
{
  const guint8 *known = g_hash_table_lookup (index->checked, path);
  if (!known)
    {
      FileStamp *kept = kept_stamp (index, dfd, path);
      if (!kept)
        return FALSE;
      known = kept->digest;
      g_hash_table_replace (index->checked, g_strdup (path), g_memdup2 (known, DIGEST_LEN));
    }
  guint8 digest[DIGEST_LEN];
  sha256 (text, strlen (text), digest);
  return memcmp (digest, known, DIGEST_LEN) == 0;
}

gboolean
gen_index_file_made_from (GenIndex *index, int dfd, const char *path, const guint8 *from)
{
  FileStamp *kept = kept_stamp (index, dfd, path);
  return kept && kept->has_from && memcmp (kept->from, from, GEN_INDEX_FROM_LEN) == 0;
}

void
gen_index_note_file (GenIndex *index, int dfd, const char *path, const char *text,
                     const guint8 *from)
{
  FileStamp st = { 0 };
  guint64 at = gen_now_ns (); /* before the stat, as in gen_index_dir_stamp() */
  if (!stamp_of (dfd, path, &st))
    {
      gen_index_forget_file (index, path);
      return;
    }
  sha256 (text, strlen (text), st.digest);
  if (from)
    {
      memcpy (st.from, from, GEN_INDEX_FROM_LEN);
      st.has_from = TRUE;
    }
  g_hash_table_replace (index->checked, g_strdup (path), g_memdup2 (st.digest, DIGEST_LEN));
  /* Racy stat data are not kept: a later run reads the file again, and
   * notes it then. */
  FileStamp *kept = g_hash_table_lookup (file_stamps (index), path);
  if (gen_racy (st.mtime_ns, st.ctime_ns, at))
    {
      if (kept)
        {
          g_hash_table_remove (index->files, path);
          g_hash_table_remove (index->stamped, path);
          index->dirty = TRUE;
        }
      return;
    }
  g_hash_table_add (index->stamped, g_strdup (path));
  if (kept && memcmp (kept, &st, sizeof st) == 0)
    return;
  g_hash_table_replace (index->files, g_strdup (path), g_memdup2 (&st, sizeof st));
  index->dirty = TRUE;
}

void
gen_index_forget_file (GenIndex *index, const char *path)
{
  g_hash_table_remove (index->checked, path);
  g_hash_table_remove (index->stamped, path);
  if (g_hash_table_remove (file_stamps (index), path))
    index->dirty = TRUE;
}
