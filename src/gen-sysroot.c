#include "gen-sysroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-activate.h"
#include "gen-boot.h"
#include "gen-crash.h"
#include "gen-error.h"
#include "gen-util.h"

void
gen_sysroot_free (GenSysroot *s)
{
  if (!s)
    return;
  gen_close_fd (&s->dfd);
  gen_close_fd (&s->lock_fd);
  g_free (s->path);
  g_free (s->os);
  g_clear_pointer (&s->records, g_hash_table_unref);
  g_clear_pointer (&s->index, gen_index_free);
  g_free (s);
}

static gboolean
parse_state (GenSysroot *s, const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    {
      g_prefix_error (error, "reading %s: ", GEN_STATE_FILE);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "reading %s: not a JSON object",
                   GEN_STATE_FILE);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  g_clear_pointer (&s->os, g_free);
  JsonNode *os = json_object_get_member (o, "os");
  if (os && JSON_NODE_HOLDS_VALUE (os))
    s->os = g_strdup (json_node_get_string (os));
  s->current = json_object_get_int_member_with_default (o, "current", 0);
  s->default_gen = json_object_get_int_member_with_default (o, "default", 0);
  s->last = json_object_get_int_member_with_default (o, "last", 0);
  return TRUE;
}

gboolean
gen_sysroot_reload (GenSysroot *s, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = gen_read_file_at (s->dfd, GEN_STATE_FILE, NULL, &local_error);
  if (!text)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_NOT_INITIALIZED,
                       "'%s' is not a gen sysroot (run 'gen --sysroot %s init' first)", s->path,
                       s->path);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return parse_state (s, text, error);
}

GenSysroot *
gen_sysroot_open (const char *path, GError **error)
{
  g_autoptr (GenSysroot) s = g_new0 (GenSysroot, 1);
  s->path = g_strdup (path);
  s->lock_fd = -1;
  s->dfd = gen_open_dir_at (AT_FDCWD, path, error);
  if (s->dfd < 0)
    {
      g_prefix_error (error, "opening sysroot: ");
      return NULL;
    }
  if (!gen_sysroot_reload (s, error))
    return NULL;
  return g_steal_pointer (&s);
}

static char *
state_text (const char *os, guint current, guint default_gen, guint last)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "os");
  if (os)
    json_builder_add_string_value (b, os);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "current");
  json_builder_add_int_value (b, current);
  json_builder_set_member_name (b, "default");
  json_builder_add_int_value (b, default_gen);
  json_builder_set_member_name (b, "last");
  json_builder_add_int_value (b, last);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *json = json_to_string (root, TRUE);
  return g_strconcat (json, "\n", NULL);
}

gboolean
gen_sysroot_prepare (const char *path, const char *os, GError **error)
{
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, path, error);
  if (dfd < 0)
    return FALSE;
  static const char *const dirs[] = { GEN_STATE_DIR,   GEN_DEPLOY_DIR, GEN_GENERATIONS_DIR,
                                      GEN_TMP_DIR,     GEN_ENTRIES_DIR, GEN_VAR_DIR };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (!gen_mkdir_p_at (dfd, dirs[i], 0755, error))
      return FALSE;
  if (!gen_exists_at (dfd, GEN_STATE_FILE))
    {
      g_autofree char *text = state_text (os, 0, 0, 0);
      if (!gen_write_file_at (dfd, GEN_STATE_FILE, text, strlen (text), 0644, error))
        return FALSE;
    }
  return gen_fsync_dir_at (dfd, ".", error) && gen_fsync_dir_at (dfd, GEN_STATE_DIR, error);
}

gboolean
gen_sysroot_lock (GenSysroot *s, gboolean wait, GError **error)
{
  if (s->lock_fd >= 0)
    return TRUE;
  int fd = openat (s->dfd, GEN_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return gen_throw_errno (error, "opening lock '%s'", GEN_LOCK_FILE);
  if (flock (fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
    {
      int errsv = errno;
      close (fd);
      if (errsv == EWOULDBLOCK)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_BUSY,
                       "another gen run holds the lock on '%s'", s->path);
          return FALSE;
        }
      errno = errsv;
      return gen_throw_errno (error, "locking '%s'", GEN_LOCK_FILE);
    }
  s->lock_fd = fd;
  /* What we read before holding the lock may be stale. */
  return gen_sysroot_reload (s, error);
}

static gboolean
parse_generation_name (const char *name, guint *out)
{
  guint64 n;
  if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &n, NULL))
    return FALSE;
  *out = n;
  return TRUE;
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

typedef struct {
  guint number;
  guint64 ino;
} Folder;

static GenIndex *ensure_index (GenSysroot *s);

/* The generation folders on disk, committed or not, by number; with their
 * inode numbers (readdir gives them without a stat). */
static GArray *
generation_folders (GenSysroot *s, GError **error)
{
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (Folder));
  int fd = gen_open_dir_at (s->dfd, GEN_GENERATIONS_DIR, error);
  if (fd < 0)
    return NULL;
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      gen_throw_errno (error, "reading '%s'", GEN_GENERATIONS_DIR);
      return NULL;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      Folder f = { 0, de->d_ino };
      if (parse_generation_name (de->d_name, &f.number))
        g_array_append_val (out, f);
    }
  closedir (d);
  g_array_sort (out, compare_uint); /* number is the first member */
  return g_steal_pointer (&out);
}

/* Numbers of the generation folders on disk, committed or not, ascending. */
static GArray *
generation_numbers (GenSysroot *s, GError **error)
{
  g_autoptr (GArray) folders = generation_folders (s, error);
  if (!folders)
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (guint), folders->len);
  for (guint i = 0; i < folders->len; i++)
    g_array_append_val (out, g_array_index (folders, Folder, i).number);
  return out;
}

/* Reads generation @number's record, without the cache. */
static GenGeneration *
read_generation (GenSysroot *s, guint number, GError **error)
{
  g_autofree char *path = g_strdup_printf (GEN_GENERATIONS_DIR "/%u/generation.json", number);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = gen_read_file_at (s->dfd, path, NULL, &local_error);
  if (!text)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION, "generation %u does not exist",
                     number);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    {
      g_prefix_error (error, "reading '%s': ", path);
      return NULL;
    }
  GenGeneration *g = gen_generation_from_json (json_parser_get_root (parser), error);
  if (g && g->number != number)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "'%s' records generation %u", path,
                   g->number);
      g_clear_pointer (&g, gen_generation_free);
    }
  return g;
}

GenGeneration *
gen_sysroot_load_generation (GenSysroot *s, guint number, GError **error)
{
  if (number == 0 || number > s->last)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION, "generation %u does not exist",
                   number);
      return NULL;
    }
  /* Read each record once per run.  Records are written once, under
   * gen/tmp, and published by a rename; nothing rewrites one. */
  GenGeneration *seen = s->records ? g_hash_table_lookup (s->records, GUINT_TO_POINTER (number))
                                   : NULL;
  if (seen)
    return gen_generation_copy (seen);
  GenGeneration *g = read_generation (s, number, error);
  if (g)
    {
      if (!s->records)
        s->records = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) gen_generation_free);
      g_hash_table_replace (s->records, GUINT_TO_POINTER (number), gen_generation_copy (g));
    }
  return g;
}

GenIndex *
gen_sysroot_index (GenSysroot *s)
{
  return ensure_index (s);
}

static GenIndex *
ensure_index (GenSysroot *s)
{
  if (!s->index)
    s->index = gen_index_load (s->dfd, GEN_INDEX_FILE);
  return s->index;
}

/* Brings the index's generations in step with gen/generations: nothing to
 * do while that folder is as it was when listed last (and `last` the same);
 * else lists it and reads the records of new folders. */
static gboolean
refresh_generations (GenSysroot *s, GError **error)
{
  GenIndex *index = ensure_index (s);
  if (gen_index_last (index) == s->last && gen_index_dir_trusted (index, s->dfd, GEN_GENERATIONS_DIR))
    return TRUE;
  GenDirStamp st;
  if (!gen_index_dir_stamp (s->dfd, GEN_GENERATIONS_DIR, &st))
    return gen_throw_errno (error, "reading '%s'", GEN_GENERATIONS_DIR);
  g_autoptr (GArray) folders = generation_folders (s, error);
  if (!folders)
    return FALSE;
  g_autoptr (GHashTable) present = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < folders->len; i++)
    {
      Folder *f = &g_array_index (folders, Folder, i);
      if (f->number > s->last)
        continue; /* never committed: a killed run's leftover */
      g_hash_table_add (present, GUINT_TO_POINTER (f->number));
      if (f->ino != 0 && gen_index_folder_ino (index, f->number) == f->ino)
        continue; /* held, for this folder: not decoded here */
      g_autoptr (GenGeneration) full = gen_sysroot_load_generation (s, f->number, error);
      if (!full)
        return FALSE;
      gen_index_put (index, f->ino, full);
    }
  gen_index_retain (index, present);
  gen_index_set_last (index, s->last);
  gen_index_record_dir (index, GEN_GENERATIONS_DIR, GEN_GENERATIONS_DIR, &st);
  return TRUE;
}

GArray *
gen_sysroot_generation_numbers (GenSysroot *s, GError **error)
{
  if (!refresh_generations (s, error))
    return NULL;
  guint n;
  const guint *numbers = gen_index_numbers (s->index, &n);
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  g_array_append_vals (out, numbers, n);
  return out;
}

GenGeneration *
gen_sysroot_listed_generation (GenSysroot *s, guint number)
{
  return s->index ? gen_index_lookup (s->index, number, 0) : NULL;
}

const char *
gen_sysroot_listed_json (GenSysroot *s, guint number, guint schema, gboolean *out_reads)
{
  return s->index ? gen_index_lookup_json (s->index, number, schema, out_reads) : NULL;
}

GPtrArray *
gen_sysroot_list_generations (GenSysroot *s, GError **error)
{
  if (!refresh_generations (s, error))
    return NULL;
  guint n;
  const guint *numbers = gen_index_numbers (s->index, &n);
  GPtrArray *out = g_ptr_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (out, gen_index_lookup (s->index, numbers[i], 0));
  return out;
}

void
gen_sysroot_save_index (GenSysroot *s)
{
  /* Only under the lock: two runs writing it at once could each save what the other undid. */
  if (s->lock_fd < 0 || !s->index || !gen_index_is_dirty (s->index))
    return;
  g_autoptr (GError) error = NULL;
  if (!gen_index_save (s->index, s->dfd, GEN_INDEX_FILE, &error))
    g_debug ("%s", error->message);
}

/* Whether @path names the folder @dfd is open on. */
static gboolean
same_dir (int dfd, const char *path)
{
  struct stat a, b;
  return fstat (dfd, &a) == 0 && stat (path, &b) == 0 && a.st_dev == b.st_dev
         && a.st_ino == b.st_ino;
}

guint
gen_sysroot_booted_from (GenSysroot *s, const char *booted_file)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (booted_file, &text, NULL, NULL))
    return 0;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  const char *os = NULL, *sysroot = NULL;
  guint n = 0;
  for (char **l = lines; *l; l++)
    {
      if (g_str_has_prefix (*l, "os="))
        os = *l + strlen ("os=");
      else if (g_str_has_prefix (*l, "sysroot="))
        sysroot = *l + strlen ("sysroot=");
      else if (g_str_has_prefix (*l, "generation="))
        parse_generation_name (*l + strlen ("generation="), &n);
    }
  if (!n || !sysroot || !same_dir (s->dfd, sysroot) || (s->os && g_strcmp0 (os, s->os) != 0))
    return 0;
  return n;
}

char *
gen_sysroot_default_path (const char *booted_file)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (booted_file, &text, NULL, NULL))
    return g_strdup ("/");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, "sysroot=") && g_path_is_absolute (*l + strlen ("sysroot=")))
      return g_strdup (*l + strlen ("sysroot="));
  return g_strdup ("/");
}

guint
gen_sysroot_booted (GenSysroot *s)
{
  guint n = gen_sysroot_booted_from (s, GEN_BOOTED_FILE);
  if (n)
    return n;
  /* A system booted some other way, with gen.generation= on its command line. */
  struct stat a, b;
  if (fstat (s->dfd, &a) < 0 || stat ("/", &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
    return 0;
  g_autofree char *cmdline = NULL;
  if (!g_file_get_contents ("/proc/cmdline", &cmdline, NULL, NULL))
    return 0;
  g_auto (GStrv) words = g_strsplit_set (g_strstrip (cmdline), " \t", -1);
  for (char **w = words; *w; w++)
    {
      guint n;
      if (g_str_has_prefix (*w, "gen.generation=")
          && parse_generation_name (*w + strlen ("gen.generation="), &n))
        return n;
    }
  return 0;
}

gboolean
gen_sysroot_commit_state (GenSysroot *s, const char *os, guint current, guint default_gen,
                          guint last, GError **error)
{
  g_autofree char *text = state_text (os, current, default_gen, last);
  if (!gen_write_file_at (s->dfd, GEN_STATE_FILE, text, strlen (text), 0644, error))
    {
      g_prefix_error (error, "committing the generation state: ");
      return FALSE;
    }
  if (os != s->os)
    {
      g_free (s->os);
      s->os = g_strdup (os);
    }
  s->current = current;
  s->default_gen = default_gen;
  s->last = last;
  gboolean synced = gen_boot_sync (s, error);
  /* Last, so that it holds the menu as written: what the index learnt in
   * this run (new generations, folders found clean, the menu) is not learnt
   * again by the next one.  A run that commits nothing (a refused switch)
   * leaves it as it was.  It is a cache, checked against what it describes:
   * a run killed before this line leaves one that is merely behind. */
  gen_sysroot_save_index (s);
  if (!synced)
    {
      g_prefix_error (error, "writing the boot menu: ");
      return FALSE;
    }
  return TRUE;
}

/* The names in boot/loader/entries (none when it does not exist). */
static GPtrArray *
entry_names (GenSysroot *s, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int fd = openat (s->dfd, GEN_ENTRIES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno != ENOENT)
        {
          gen_throw_errno (error, "opening '%s'", GEN_ENTRIES_DIR);
          return NULL;
        }
      return g_steal_pointer (&names);
    }
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      gen_throw_errno (error, "reading '%s'", GEN_ENTRIES_DIR);
      return NULL;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  return g_steal_pointer (&names);
}

/* Removes temporary files (".NAME.tmp-XXXXXXXX") gen_write_file_at may have left in @dir;
 * *@found (may be NULL) is set when there were any. */
static gboolean
remove_tmp_files (GenSysroot *s, const char *dir, GPtrArray *removed, gboolean *found,
                  GError **error)
{
  int fd = openat (s->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? TRUE : gen_throw_errno (error, "opening '%s'", dir);
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return gen_throw_errno (error, "reading '%s'", dir);
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] == '.' && strstr (de->d_name, ".tmp-"))
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  if (found && names->len > 0)
    *found = TRUE;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      if (!gen_rm_rf_at (s->dfd, path, error))
        return FALSE;
      if (removed)
        g_ptr_array_add (removed, g_steal_pointer (&path));
    }
  return TRUE;
}

/* The names in folder @dir of the sysroot but "." and "..", or none. */
static GPtrArray *
dir_names (GenSysroot *s, const char *dir, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int fd = openat (s->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return g_steal_pointer (&names);
      gen_throw_errno (error, "opening '%s'", dir);
      return NULL;
    }
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      gen_throw_errno (error, "reading '%s'", dir);
      return NULL;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  return g_steal_pointer (&names);
}

/* Removes @path by renaming it to @aside first: a removal killed half way
 * leaves a leftover under a name cleanup removes, never half a tree under a
 * name a switch would use as it is. */
static gboolean
remove_via (GenSysroot *s, const char *path, const char *aside, GPtrArray *removed,
            GError **error)
{
  if (!gen_rename_at (s->dfd, path, aside, error) || !gen_rm_rf_at (s->dfd, aside, error))
    return FALSE;
  if (removed)
    g_ptr_array_add (removed, g_strdup (path));
  return TRUE;
}

/* Checkouts and kernel folders no committed generation uses: a switch that
 * failed (a full disk) or was killed after making them, before its commit.
 * They hold the release's files (the checkout's hard links keep the store's
 * objects alive) and the kernel, so they go.  Nothing is removed when a
 * generation's record cannot be read: it might use them. */
static gboolean
remove_unused (GenSysroot *s, GPtrArray *removed, GError **error)
{
  /* Nothing to do when none of the three folders changed since a run found
   * nothing to remove (gen-index.h). */
  GenIndex *index = ensure_index (s);
  g_autofree char *kernels = s->os ? g_build_filename (GEN_BOOT_DIR, s->os, NULL) : NULL;
  g_autofree char *kernels_record = s->os ? g_strconcat ("unused:", kernels, NULL) : NULL;
  if (gen_index_dir_trusted (index, s->dfd, "unused:" GEN_GENERATIONS_DIR)
      && gen_index_dir_trusted (index, s->dfd, "unused:" GEN_DEPLOY_DIR)
      && (!kernels || gen_index_dir_trusted (index, s->dfd, kernels_record)))
    return TRUE;
  GenDirStamp st_gens, st_deploy, st_kernels;
  gboolean have_stats = gen_index_dir_stamp (s->dfd, GEN_GENERATIONS_DIR, &st_gens)
                        && gen_index_dir_stamp (s->dfd, GEN_DEPLOY_DIR, &st_deploy)
                        && (!kernels || gen_index_dir_stamp (s->dfd, kernels, &st_kernels));
  guint removed_before = removed ? removed->len : 0;
  gboolean removed_any = FALSE;

  g_autoptr (GArray) numbers = gen_sysroot_generation_numbers (s, NULL);
  if (!numbers)
    return TRUE;
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < numbers->len; i++)
    {
      const char *checksum, *kernel_dir;
      /* Something unexpected (no kernel yet, or a damaged record that slipped
       * past the index's CRC): remove nothing rather than what it hides. */
      if (!gen_index_lookup_deploy (s->index, g_array_index (numbers, guint, i), &checksum,
                                    &kernel_dir)
          || !kernel_dir || !*kernel_dir || !gen_is_checksum (checksum))
        return TRUE;
      g_hash_table_add (used, gen_sysroot_deploy_path (checksum));
      g_hash_table_add (used, g_build_filename (GEN_BOOT_DIR, kernel_dir, NULL));
    }
  g_autoptr (GPtrArray) deploys = dir_names (s, GEN_DEPLOY_DIR, error);
  if (!deploys)
    return FALSE;
  for (guint i = 0; i < deploys->len; i++)
    {
      const char *name = deploys->pdata[i];
      g_autofree char *path = g_build_filename (GEN_DEPLOY_DIR, name, NULL);
      if (name[0] == '.' || g_hash_table_contains (used, path))
        continue;
      g_autofree char *aside = g_strdup_printf (GEN_TMP_DIR "/unused-deploy-%s", name);
      if (!remove_via (s, path, aside, removed, error))
        return FALSE;
      removed_any = TRUE;
    }
  g_autoptr (GPtrArray) kdirs = kernels ? dir_names (s, kernels, error)
                                        : g_ptr_array_new_with_free_func (g_free);
  if (!kdirs)
    return FALSE;
  for (guint i = 0; i < kdirs->len; i++)
    {
      const char *name = kdirs->pdata[i];
      g_autofree char *path = g_build_filename (kernels, name, NULL);
      if (name[0] == '.' || g_hash_table_contains (used, path))
        continue;
      g_autofree char *aside = g_strdup_printf ("%s/.%s.tmp-unused", kernels, name);
      if (!remove_via (s, path, aside, removed, error))
        return FALSE;
      removed_any = TRUE;
    }
  if (have_stats && !removed_any && (!removed || removed->len == removed_before))
    {
      gen_index_record_dir (index, "unused:" GEN_GENERATIONS_DIR, GEN_GENERATIONS_DIR, &st_gens);
      gen_index_record_dir (index, "unused:" GEN_DEPLOY_DIR, GEN_DEPLOY_DIR, &st_deploy);
      if (kernels)
        gen_index_record_dir (index, kernels_record, kernels, &st_kernels);
    }
  return TRUE;
}

gboolean
gen_sysroot_cleanup (GenSysroot *s, GPtrArray *removed, GError **error)
{
  g_return_val_if_fail (s->lock_fd >= 0, FALSE);

  /* Work in progress of a killed run. */
  int fd = openat (s->dfd, GEN_TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      DIR *d = fdopendir (fd);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
          g_ptr_array_add (names, g_strdup (de->d_name));
      if (d)
        closedir (d);
      else
        close (fd);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *path = g_build_filename (GEN_TMP_DIR, names->pdata[i], NULL);
          if (!gen_rm_rf_at (s->dfd, path, error))
            return FALSE;
          if (removed)
            g_ptr_array_add (removed, g_steal_pointer (&path));
        }
    }
  else if (!gen_mkdir_p_at (s->dfd, GEN_TMP_DIR, 0755, error))
    return FALSE;

  /* The two folders that grow with the generations need no look when a run
   * found them clean and they did not change since (gen-index.h). */
  GenIndex *index = ensure_index (s);
  gboolean same_last = gen_index_last (index) == s->last;
  gboolean gens_clean
      = same_last && gen_index_dir_trusted (index, s->dfd, "clean:" GEN_GENERATIONS_DIR);
  gboolean entries_clean
      = same_last && gen_index_dir_trusted (index, s->dfd, "clean:" GEN_ENTRIES_DIR);
  GenDirStamp st_gens, st_entries;
  gboolean record_gens = !gens_clean && gen_index_dir_stamp (s->dfd, GEN_GENERATIONS_DIR, &st_gens);
  gboolean record_entries
      = !entries_clean && s->os && gen_index_dir_stamp (s->dfd, GEN_ENTRIES_DIR, &st_entries);

  static const char *const dirs[] = { GEN_STATE_DIR, GEN_DEPLOY_DIR, GEN_GENERATIONS_DIR,
                                      GEN_LOADER_DIR, GEN_ENTRIES_DIR, GEN_BOOT_DIR };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      gboolean is_gens = g_str_equal (dirs[i], GEN_GENERATIONS_DIR);
      gboolean is_entries = g_str_equal (dirs[i], GEN_ENTRIES_DIR);
      if ((is_gens && gens_clean) || (is_entries && entries_clean))
        continue;
      gboolean found = FALSE;
      if (!remove_tmp_files (s, dirs[i], removed, &found, error))
        return FALSE;
      if (found && is_gens)
        record_gens = FALSE;
      if (found && is_entries)
        record_entries = FALSE;
    }
  if (s->os)
    {
      g_autofree char *kernels = g_build_filename (GEN_BOOT_DIR, s->os, NULL);
      if (!remove_tmp_files (s, kernels, removed, NULL, error))
        return FALSE;
    }

  /* Generations a killed run wrote but never committed, and their entries:
   * every folder and every entry numbered above `last`.  The entry goes
   * first, so that a cleanup killed half way never leaves an entry whose
   * folder is gone. */
  g_autoptr (GArray) numbers = gens_clean ? g_array_new (FALSE, FALSE, sizeof (guint))
                                          : generation_numbers (s, error);
  if (!numbers)
    return FALSE;
  g_autoptr (GPtrArray) entries = s->os && !entries_clean ? entry_names (s, error) : NULL;
  if (s->os && !entries_clean && !entries)
    return FALSE;
  for (guint i = 0; entries && i < entries->len; i++)
    {
      guint n;
      if (!gen_boot_entry_number (s->os, entries->pdata[i], &n) || n <= s->last)
        continue;
      g_autofree char *entry = g_build_filename (GEN_ENTRIES_DIR, entries->pdata[i], NULL);
      GEN_CRASH_POINT ("before removing", entry);
      if (unlinkat (s->dfd, entry, 0) < 0 && errno != ENOENT)
        return gen_throw_errno (error, "removing '%s'", entry);
      gen_index_forget_file (index, entry);
      record_entries = FALSE;
      if (removed)
        g_ptr_array_add (removed, g_steal_pointer (&entry));
    }
  for (guint i = 0; i < numbers->len; i++)
    {
      guint n = g_array_index (numbers, guint, i);
      if (n <= s->last)
        continue;
      g_autofree char *path = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", n);
      if (!gen_rm_rf_at (s->dfd, path, error))
        return FALSE;
      record_gens = FALSE;
      if (removed)
        g_ptr_array_add (removed, g_steal_pointer (&path));
    }
  /* Nothing was there: the stat data taken before the look stand for a clean folder. */
  if (record_gens)
    gen_index_record_dir (index, "clean:" GEN_GENERATIONS_DIR, GEN_GENERATIONS_DIR, &st_gens);
  if (record_entries)
    gen_index_record_dir (index, "clean:" GEN_ENTRIES_DIR, GEN_ENTRIES_DIR, &st_entries);

  if (!remove_unused (s, removed, error))
    return FALSE;

  /* A run killed between the state and the boot menus left them behind:
   * rewrite them, but only towards a complete default generation (when a
   * record cannot be read, gen_boot_sync() says which). */
  if (s->os && s->default_gen > 0)
    {
      g_autoptr (GArray) all = gen_sysroot_generation_numbers (s, NULL);
      g_autoptr (GenGeneration) read = NULL;
      GenGeneration *def = all ? gen_sysroot_listed_generation (s, s->default_gen)
                               : (read = gen_sysroot_load_generation (s, s->default_gen, NULL));
      if (!def || !gen_generation_check_complete (s, def, NULL))
        return TRUE;
    }
  return gen_boot_sync (s, error);
}

char *
gen_sysroot_deploy_path (const char *checksum)
{
  return g_build_filename (GEN_DEPLOY_DIR, checksum, NULL);
}
