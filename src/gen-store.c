#include "gen-store.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ostree.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-checkout.h"
#include "gen-import.h"
#include "gen-compose.h"
#include "gen-error.h"
#include "gen-pull.h"
#include "gen-statcache.h"
#include "gen-watch.h"
#include "gen-crash.h"
#include "gen-util.h"

typedef struct archive GenArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenArchive, archive_read_free)

#define META_KERNEL_VERSION "gen.kernel.version"
#define META_KERNEL_ID "gen.kernel.id"
#define META_KERNEL_INITRD "gen.kernel.initrd"
#define GENERATION_REF_PREFIX GEN_GENERATION_REF_PREFIX

struct _GenStore {
  OstreeRepo *repo;
  int sysroot_dfd;           /* borrowed from the GenSysroot */
  GPtrArray *staging_before; /* ostree's staging folders before our transaction */
  /* An import not kept yet (gen_store_keep): the stat cache entry to write,
   * or the cached release <os>/release is to name. */
  char *keep_cache_key, *keep_digest, *keep_cached;
  /* Commits this run moved a ref away from (<os>/release, a remote's). */
  GPtrArray *replaced;
  gboolean marked;           /* this run wrote GEN_UNPRUNED_FILE */
  gboolean dry_run;          /* write nothing lasting, not even to caches */
};

void
gen_release_free (GenRelease *r)
{
  if (!r)
    return;
  g_free (r->checksum);
  g_free (r->version);
  g_free (r->kernel_version);
  g_free (r->kernel_id);
  g_strfreev (r->scripts_skipped);
  g_strfreev (r->setuid_stripped);
  g_free (r);
}

void
gen_store_free (GenStore *store)
{
  if (!store)
    return;
  if (store->staging_before)
    gen_store_discard (store);
  g_clear_object (&store->repo);
  g_free (store->keep_cache_key);
  g_free (store->keep_digest);
  g_free (store->keep_cached);
  g_clear_pointer (&store->replaced, g_ptr_array_unref);
  g_free (store);
}

static OstreeRepoMode
repo_mode (void)
{
  /* Only root can keep ownership in the store; others get canonical owners. */
  return geteuid () == 0 ? OSTREE_REPO_MODE_BARE : OSTREE_REPO_MODE_BARE_USER_ONLY;
}

gboolean
gen_store_init (const char *path, const char *os, GCancellable *cancellable, GError **error)
{
  if (!gen_sysroot_prepare (path, os, error))
    return FALSE;
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, path, error);
  if (dfd < 0)
    return FALSE;
  if (gen_exists_at (dfd, GEN_REPO_DIR "/config"))
    return TRUE;
  g_autoptr (OstreeRepo) repo
      = ostree_repo_create_at (dfd, GEN_REPO_DIR, repo_mode (), NULL, cancellable, error);
  if (!repo)
    {
      g_prefix_error (error, "creating the store: ");
      return FALSE;
    }
  return gen_fsync_dir_at (dfd, GEN_STATE_DIR, error);
}

GenStore *
gen_store_open (GenSysroot *sysroot, GCancellable *cancellable, GError **error)
{
  g_autoptr (GenStore) store = g_new0 (GenStore, 1);
  store->sysroot_dfd = sysroot->dfd;
  store->replaced = g_ptr_array_new_with_free_func (g_free);
  store->repo = ostree_repo_open_at (sysroot->dfd, GEN_REPO_DIR, cancellable, error);
  if (!store->repo)
    {
      g_prefix_error (error, "opening the store: ");
      return NULL;
    }
  return g_steal_pointer (&store);
}

/* --- archives -------------------------------------------------------------- */

/* Strips leading "./" and trailing "/"; NULL for the root itself. */
static char *
archive_member_path (const char *name)
{
  while (g_str_has_prefix (name, "./"))
    name += 2;
  g_autofree char *path = g_strdup (name);
  gsize len = strlen (path);
  while (len > 0 && path[len - 1] == '/')
    path[--len] = '\0';
  if (len == 0 || g_str_equal (path, "."))
    return NULL;
  return g_steal_pointer (&path);
}

/* A member path must stay inside the tree: relative, no ".." component. */
static gboolean
member_path_is_safe (const char *path)
{
  if (path[0] == '/')
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p; p++)
    if (g_str_equal (*p, ".."))
      return FALSE;
  return TRUE;
}

/* A relative symlink target must not climb above the tree's root from the
 * folder holding the link.  Absolute targets resolve inside the tree at boot. */
static gboolean
symlink_stays_inside (const char *link_path, const char *target)
{
  if (target[0] == '/')
    return TRUE;
  int depth = 0;
  for (const char *p = link_path; *p; p++)
    depth += *p == '/';
  g_auto (GStrv) parts = g_strsplit (target, "/", -1);
  for (char **p = parts; *p; p++)
    {
      if (g_str_equal (*p, ".."))
        depth--;
      else if (**p != '\0' && !g_str_equal (*p, "."))
        depth++;
      if (depth < 0)
        return FALSE;
    }
  return TRUE;
}

static GenArchive *
archive_open (const char *path, GError **error)
{
  g_autoptr (GenArchive) a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_all (a);
  if (archive_read_open_filename (a, path, 65536) != ARCHIVE_OK)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "reading archive '%s': %s", path,
                   archive_error_string (a));
      return NULL;
    }
  return g_steal_pointer (&a);
}

/* A member name for an error message: escaped, and cut after 100 bytes. */
static char *
shown_name (const char *name)
{
  g_autofree char *valid = g_utf8_make_valid (name, -1);
  g_autofree char *escaped = gen_escape_controls (valid);
  if (g_utf8_strlen (escaped, -1) <= 100)
    return g_steal_pointer (&escaped);
  g_autofree char *head = g_utf8_substring (escaped, 0, 100);
  return g_strconcat (head, "…", NULL);
}

/* Why a member path cannot be a file name in a checkout, or NULL. */
static const char *
member_path_problem (const char *path)
{
  if (!g_utf8_validate (path, -1, NULL))
    return "is not UTF-8";
  if (strlen (path) > 4095)
    return "is longer than 4095 bytes";
  guint depth = 0;
  for (const char *p = path; *p;)
    {
      const char *slash = strchr (p, '/');
      gsize len = slash ? (gsize) (slash - p) : strlen (p);
      if (len > 255)
        return "has a component longer than 255 bytes";
      depth++;
      p += len + (slash ? 1 : 0);
    }
  if (depth > 256)
    return "is nested deeper than 256 folders";
  return NULL;
}

/* Reads every member header and refuses what could escape or damage the tree. */
static gboolean
archive_validate (const char *path, GError **error)
{
  g_autoptr (GenArchive) a = archive_open (path, error);
  if (!a)
    return FALSE;
  struct archive_entry *entry;
  int r;
  guint count = 0;
  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      count++;
      const char *raw = archive_entry_pathname (entry);
      if (!raw)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "archive '%s': member %u has no path", path, count);
          return FALSE;
        }
      if (raw[0] == '/' || !member_path_is_safe (raw))
        {
          g_autofree char *shown = shown_name (raw);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "archive '%s': member '%s' %s", path, shown,
                       raw[0] == '/' ? "has an absolute path" : "climbs out with '..'");
          return FALSE;
        }
      /* Refused here, not half way through the import or the checkout. */
      const char *problem = member_path_problem (raw);
      if (problem)
        {
          g_autofree char *shown = shown_name (raw);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "archive '%s': member '%s' %s", path, shown, problem);
          return FALSE;
        }
      g_autofree char *member = archive_member_path (raw);
      const char *hardlink = archive_entry_hardlink (entry);
      g_autofree char *shown = shown_name (raw);
      if (hardlink && (hardlink[0] == '/' || !member_path_is_safe (hardlink)))
        {
          g_autofree char *shown_target = shown_name (hardlink);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "archive '%s': hard link '%s' points outside the tree ('%s')", path,
                       shown, shown_target);
          return FALSE;
        }
      mode_t type = archive_entry_filetype (entry);
      if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "archive '%s': member '%s' is a device node, FIFO or socket, which a "
                       "release may not hold",
                       path, shown);
          return FALSE;
        }
      if (type == AE_IFLNK)
        {
          const char *target = archive_entry_symlink (entry);
          if (!target || !member || !symlink_stays_inside (member, target))
            {
              g_autofree char *shown_target = shown_name (target ? target : "");
              g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                           "archive '%s': symlink '%s' points outside the tree ('%s')", path,
                           shown, shown_target);
              return FALSE;
            }
        }
      if (archive_read_data_skip (a) != ARCHIVE_OK)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "reading archive '%s': member '%s': %s", path, shown,
                       archive_error_string (a));
          return FALSE;
        }
    }
  if (r != ARCHIVE_EOF)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "reading archive '%s': %s", path,
                   archive_error_string (a));
      return FALSE;
    }
  if (count == 0)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "archive '%s' is empty", path);
      return FALSE;
    }
  return TRUE;
}

/* --- reading a release tree ------------------------------------------------ */

static gboolean
is_regular (GFile *f, GCancellable *cancellable)
{
  return g_file_query_file_type (f, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable)
         == G_FILE_TYPE_REGULAR;
}

static gboolean
kernel_version_is_valid (const char *name)
{
  if (!*name || strlen (name) > 128 || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("._-+~", *p))
      return FALSE;
  return TRUE;
}

/* Finds usr/lib/modules/<kver>/vmlinuz (the highest <kver> if several). */
static gboolean
find_kernel (GFile *root, GenRelease *r, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) modules = g_file_resolve_relative_path (root, "usr/lib/modules");
  g_autoptr (GFileEnumerator) e
      = g_file_enumerate_children (modules, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, NULL);
  g_autofree char *best = NULL;
  g_autoptr (GFile) best_vmlinuz = NULL;
  g_autoptr (GError) local_error = NULL;
  for (;;)
    {
      GFileInfo *info;
      GFile *child;
      if (!e || !g_file_enumerator_iterate (e, &info, &child, cancellable, &local_error) || !info)
        break;
      g_autoptr (GFile) vmlinuz = g_file_get_child (child, "vmlinuz");
      const char *name = g_file_info_get_name (info);
      if (is_regular (vmlinuz, cancellable) && !kernel_version_is_valid (name))
        {
          /* It names a folder in boot/ and goes into the entry's "linux"
           * line: a newline in it would add lines to the boot entry. */
          g_autofree char *shown = gen_escape_controls (name);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "the release's kernel folder 'usr/lib/modules/%s' is not a kernel version "
                       "(letters, digits, '.', '_', '-', '+', '~')",
                       shown);
          return FALSE;
        }
      if (is_regular (vmlinuz, cancellable) && (!best || strverscmp (name, best) > 0))
        {
          g_free (best);
          best = g_strdup (name);
          g_set_object (&best_vmlinuz, vmlinuz);
        }
    }
  /* A tree without usr/lib/modules simply has no kernel. */
  if (local_error && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!best)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                   "the release has no kernel (expected usr/lib/modules/<version>/vmlinuz)");
      return FALSE;
    }
  g_autoptr (GFile) dir = g_file_get_parent (best_vmlinuz);
  g_autoptr (GFile) initrd = g_file_get_child (dir, "initramfs.img");
  r->kernel_version = g_steal_pointer (&best);
  r->has_initrd = is_regular (initrd, cancellable);
  /* The id names the boot folder: a different kernel under the same version
   * must not overwrite the files an older entry boots. */
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *k = ostree_repo_file_get_checksum (OSTREE_REPO_FILE (best_vmlinuz));
  g_checksum_update (sum, (const guchar *) k, strlen (k));
  if (r->has_initrd)
    {
      const char *i = ostree_repo_file_get_checksum (OSTREE_REPO_FILE (initrd));
      g_checksum_update (sum, (const guchar *) i, strlen (i));
    }
  r->kernel_id = g_strndup (g_checksum_get_string (sum), 16);
  return TRUE;
}

/* VERSION_ID from usr/lib/os-release or etc/os-release, or NULL. */
static char *
read_os_release_version (GFile *root, GCancellable *cancellable)
{
  static const char *const paths[] = { "usr/lib/os-release", "etc/os-release" };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (GFile) f = g_file_resolve_relative_path (root, paths[i]);
      g_autofree char *text = NULL;
      if (!is_regular (f, cancellable)
          || !g_file_load_contents (f, cancellable, &text, NULL, NULL, NULL))
        continue;
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l; l++)
        if (g_str_has_prefix (*l, "VERSION_ID="))
          {
            char *value = g_shell_unquote (*l + strlen ("VERSION_ID="), NULL);
            /* It goes into the boot entry's title: one printable line. */
            if (value && *value && strlen (value) <= 128 && g_utf8_validate (value, -1, NULL)
                && !gen_has_control (value))
              return value;
            g_free (value);
          }
    }
  return NULL;
}

static GVariant *
release_metadata (GenRelease *r, GenCompose *compose, GVariant *folders)
{
  g_auto (GVariantBuilder) b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (r->version)
    g_variant_builder_add (&b, "{sv}", OSTREE_COMMIT_META_KEY_VERSION,
                           g_variant_new_string (r->version));
  g_variant_builder_add (&b, "{sv}", META_KERNEL_VERSION, g_variant_new_string (r->kernel_version));
  g_variant_builder_add (&b, "{sv}", META_KERNEL_ID, g_variant_new_string (r->kernel_id));
  g_variant_builder_add (&b, "{sv}", META_KERNEL_INITRD, g_variant_new_boolean (r->has_initrd));
  g_variant_builder_add (&b, "{sv}", GEN_RELEASE_META_SIZE, g_variant_new_uint64 (r->size));
  g_variant_builder_add (&b, "{sv}", GEN_CHECKOUT_META_FOLDERS, folders);
  if (compose)
    gen_compose_add_metadata (compose, &b);
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* --- import ---------------------------------------------------------------- */

/* ostree keeps the staging folder (repo/tmp/staging-*) of an aborted
 * transaction, to resume it later.  A dry run or a refused release must
 * leave the store as it was, so an aborted import removes the staging
 * entries it made; the sysroot lock keeps other gen runs out meanwhile. */
static GPtrArray *
staging_entries (GenStore *store)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int fd = openat (ostree_repo_get_dfd (store->repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      if (fd >= 0)
        close (fd);
      return g_steal_pointer (&names);
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (g_str_has_prefix (de->d_name, "staging-"))
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  return g_steal_pointer (&names);
}

static gboolean
abort_import (GenStore *store, GError **error)
{
  g_autoptr (GPtrArray) staging_before = g_steal_pointer (&store->staging_before);
  if (!ostree_repo_abort_transaction (store->repo, NULL, error))
    return FALSE;
  g_autoptr (GPtrArray) now = staging_entries (store);
  for (guint i = 0; i < now->len; i++)
    {
      const char *name = now->pdata[i];
      if (g_ptr_array_find_with_equal_func (staging_before, name, g_str_equal, NULL))
        continue;
      g_autofree char *path = g_build_filename ("tmp", name, NULL);
      if (!gen_rm_rf_at (ostree_repo_get_dfd (store->repo), path, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  GenProgressFunc progress;
  gpointer user_data;
  guint64 files;
  guint64 bytes; /* of regular files: the release's size */
} ImportProgress;

static OstreeRepoCommitFilterResult
count_files (OstreeRepo *repo, const char *path, GFileInfo *info, gpointer user_data)
{
  ImportProgress *p = user_data;
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
    p->bytes += g_file_info_get_size (info);
  if (p->progress && (++p->files % 1000) == 0)
    p->progress ("importing release", p->files, 0, p->user_data);
  return OSTREE_REPO_COMMIT_FILTER_ALLOW;
}

static gboolean
write_tree (GenStore *store, GenManifest *m, GenCompose *compose, OstreeMutableTree *mtree,
            ImportProgress *progress, GCancellable *cancellable, GError **error)
{
  if (compose)
    {
      if (!gen_compose_unpack (compose, store->repo, mtree, progress->progress,
                               progress->user_data, cancellable, error))
        return FALSE;
      progress->bytes = gen_compose_get_size (compose);
      return TRUE;
    }

  OstreeRepoCommitModifierFlags flags = 0;
  if (ostree_repo_get_mode (store->repo) == OSTREE_REPO_MODE_BARE_USER_ONLY)
    flags |= OSTREE_REPO_COMMIT_MODIFIER_FLAGS_CANONICAL_PERMISSIONS;
  if (m->release_kind == GEN_RELEASE_DIR)
    {
      if (!gen_import_dir (store->repo, m->release_source, mtree, flags, count_files, progress,
                           NULL, cancellable, error))
        {
          g_prefix_error (error, "importing '%s': ", m->release_source);
          return FALSE;
        }
      return TRUE;
    }

  g_autoptr (OstreeRepoCommitModifier) modifier
      = ostree_repo_commit_modifier_new (flags, count_files, progress, NULL);

  /* archive_validate() passed in gen_store_import(), before the transaction. */
  g_autoptr (GenArchive) a = archive_open (m->release_source, error);
  if (!a)
    return FALSE;
  OstreeRepoImportArchiveOptions opts = { 0 };
  opts.autocreate_parents = TRUE;
  if (!ostree_repo_import_archive_to_mtree (store->repo, &opts, a, mtree, modifier, cancellable,
                                            error))
    {
      g_prefix_error (error, "importing archive '%s': ", m->release_source);
      return FALSE;
    }
  return TRUE;
}

static GenRelease *
release_from_commit (GenStore *store, const char *checksum, const char *version_override,
                     GCancellable *cancellable, GError **error)
{
  g_autoptr (GVariant) commit = NULL;
  if (!ostree_repo_load_commit (store->repo, checksum, &commit, NULL, error))
    return NULL;
  g_autoptr (GVariant) meta = g_variant_get_child_value (commit, 0);
  g_auto (GVariantDict) dict;
  g_variant_dict_init (&dict, meta);
  g_autoptr (GenRelease) r = g_new0 (GenRelease, 1);
  r->checksum = g_strdup (checksum);
  if (!g_variant_dict_lookup (&dict, OSTREE_COMMIT_META_KEY_VERSION, "s", &r->version))
    r->version = NULL;
  if (!g_variant_dict_lookup (&dict, GEN_RELEASE_META_SIZE, "t", &r->size))
    r->size = 0;
  if (!g_variant_dict_lookup (&dict, GEN_COMPOSE_META_PACKAGES, "u", &r->n_packages))
    r->n_packages = 0;
  if (!g_variant_dict_lookup (&dict, GEN_COMPOSE_META_SCRIPTS, "^as", &r->scripts_skipped))
    r->scripts_skipped = NULL;
  if (!g_variant_dict_lookup (&dict, GEN_COMPOSE_META_SETUID, "^as", &r->setuid_stripped))
    r->setuid_stripped = NULL;
  if (version_override)
    {
      g_free (r->version);
      r->version = g_strdup (version_override);
    }
  if (g_variant_dict_lookup (&dict, META_KERNEL_VERSION, "s", &r->kernel_version)
      && g_variant_dict_lookup (&dict, META_KERNEL_ID, "s", &r->kernel_id)
      && g_variant_dict_lookup (&dict, META_KERNEL_INITRD, "b", &r->has_initrd))
    return g_steal_pointer (&r);

  /* A commit gen did not write (plain `ostree commit`): read the tree. */
  g_clear_pointer (&r->kernel_version, g_free);
  g_clear_pointer (&r->kernel_id, g_free);
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_read_commit (store->repo, checksum, &root, NULL, cancellable, error))
    return NULL;
  if (!find_kernel (root, r, cancellable, error))
    {
      g_prefix_error (error, "release %.10s: ", checksum);
      return NULL;
    }
  if (!r->version)
    r->version = read_os_release_version (root, cancellable);
  return g_steal_pointer (&r);
}

/* A release loses its last ref only when a run moves or deletes a ref:
 * gen_store_keep() moving <os>/release or committing a transaction (killed
 * half-way, it may leave the new commit without its ref), a pull moving a
 * remote's, the cleanup or gen gc deleting generation refs.  Such a run
 * first writes GEN_UNPRUNED_FILE, durably, and removes it once it has
 * pruned (or found nothing to); a killed or failed run leaves it.  So the
 * cleanup before a switch lists the store's commits only when it is there:
 * that scan reads every object folder (~9 ms with one Debian minbase
 * release, more as the store grows). */
gboolean
gen_store_mark_unpruned (GenStore *store, GError **error)
{
  static const char text[] = "a run moved a release's ref: the next switch prunes what it left\n";
  if (store->marked)
    return TRUE;
  if (!gen_write_file_at (store->sysroot_dfd, GEN_UNPRUNED_FILE, text, sizeof text - 1, 0644,
                          error))
    return FALSE;
  store->marked = TRUE;
  return TRUE;
}

/* Not synced: a removal lost in a crash costs the next switch one scan. */
gboolean
gen_store_unmark_unpruned (GenStore *store)
{
  gboolean removed = unlinkat (store->sysroot_dfd, GEN_UNPRUNED_FILE, 0) == 0;
  if (removed || errno == ENOENT)
    store->marked = FALSE;
  return removed;
}

/* Pulls the remote ref @m names, remembering the commit it named before. */
static gboolean
pull_release (GenStore *store, GenManifest *m, GenProgressFunc progress, gpointer user_data,
              GCancellable *cancellable, GError **error)
{
  g_autofree char *before = NULL;
  if (!ostree_repo_resolve_rev (store->repo, m->release_source, TRUE, &before, error)
      || !gen_store_mark_unpruned (store, error))
    return FALSE;
  if (!gen_pull_release (store->repo, m, progress, user_data, cancellable, error))
    {
      /* The cleanup before the import took any earlier mark: this one is
       * this run's, and with the ref where it was, nothing lost a name. */
      g_autofree char *after = NULL;
      if (ostree_repo_resolve_rev (store->repo, m->release_source, TRUE, &after, NULL)
          && g_strcmp0 (before, after) == 0)
        gen_store_unmark_unpruned (store);
      return FALSE;
    }
  if (before)
    g_ptr_array_add (store->replaced, g_steal_pointer (&before));
  return TRUE;
}

GenRelease *
gen_store_import (GenStore *store, GenManifest *m, gboolean keep, GenProgressFunc progress,
                  gpointer user_data, GCancellable *cancellable, GError **error)
{
  if (m->release_kind == GEN_RELEASE_REF)
    {
      /* A remote's ref is pulled first; a dry run uses what was pulled last. */
      if (m->release_remote && !store->dry_run
          && !pull_release (store, m, progress, user_data, cancellable, error))
        return NULL;
      g_autofree char *checksum = NULL;
      if (!ostree_repo_resolve_rev (store->repo, m->release_source, FALSE, &checksum, NULL))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "%s: release.ref: '%s' %s", m->path, m->release_source,
                       m->release_remote ? "has not been pulled yet (a dry run does not pull)"
                                         : "is not a ref or commit in the store");
          return NULL;
        }
      return release_from_commit (store, checksum, m->release_version, cancellable, error);
    }

  /* A composed release: resolve, then reuse a commit made from the same
   * packages, or fetch and unpack them in the transaction below. */
  g_autoptr (GenCompose) compose = NULL;
  if (m->release_kind == GEN_RELEASE_PACKAGES)
    {
      compose = gen_compose_resolve (m->packages, m->release_version, m->path, progress,
                                     user_data, cancellable, error);
      if (!compose)
        return NULL;
      g_autofree char *existing = gen_compose_find_commit (compose, store->repo, m->os,
                                                           cancellable);
      if (existing)
        {
          g_autoptr (GenRelease) r = release_from_commit (store, existing, NULL, cancellable,
                                                          error);
          if (!r)
            return NULL;
          /* Like a stat cache hit: gen_store_keep() only moves <os>/release. */
          store->keep_cached = g_steal_pointer (&existing);
          if (keep && !gen_store_keep (store, m, r, cancellable, error))
            return NULL;
          return g_steal_pointer (&r);
        }
      /* Downloads go to the cache unless this is a dry run, even while the
       * commit itself waits for gen_store_keep(). */
      if (!gen_compose_fetch (compose, store->sysroot_dfd, !store->dry_run, progress, user_data,
                              cancellable, error))
        return NULL;
    }

  /* An unchanged folder is the release it was last time: no need to read it. */
  g_autofree char *cache_key = NULL, *digest = NULL;
  gboolean racy = TRUE;
  if (m->release_kind == GEN_RELEASE_DIR)
    {
      g_autofree char *extra = g_strdup_printf ("%s\n%d", m->release_version ? m->release_version : "",
                                                ostree_repo_get_mode (store->repo));
      cache_key = gen_statcache_key (m->release_source, extra);
      digest = gen_watch_or_walk (store->sysroot_dfd, m->release_source, &racy, NULL);
      g_autofree char *cached = digest ? gen_statcache_lookup (store->sysroot_dfd, cache_key, digest)
                                       : NULL;
      gboolean have = FALSE;
      if (cached
          && ostree_repo_has_object (store->repo, OSTREE_OBJECT_TYPE_COMMIT, cached, &have,
                                     cancellable, NULL)
          && have)
        {
          /* <os>/release names the last release imported, cached or not. */
          g_autoptr (GenRelease) r = release_from_commit (store, cached, NULL, cancellable, error);
          if (!r)
            return NULL;
          store->keep_cached = g_steal_pointer (&cached);
          if (keep && !gen_store_keep (store, m, r, cancellable, error))
            return NULL;
          return g_steal_pointer (&r);
        }
    }

  /* A hostile or broken archive is refused before the store is touched. */
  if (m->release_kind == GEN_RELEASE_ARCHIVE && !archive_validate (m->release_source, error))
    {
      g_prefix_error (error, "%s: release.archive: ", m->path);
      return NULL;
    }
  if (progress)
    progress ("importing release", 0, 0, user_data);
  store->staging_before = staging_entries (store);
  if (keep)
    GEN_CRASH_POINT ("before the store transaction for", m->release_source);
  if (!ostree_repo_prepare_transaction (store->repo, NULL, cancellable, error))
    return NULL;
  ImportProgress p = { progress, user_data, 0 };
  g_autoptr (OstreeMutableTree) mtree = ostree_mutable_tree_new ();
  g_autoptr (GFile) root = NULL;
  g_autoptr (GenRelease) r = g_new0 (GenRelease, 1);
  g_autoptr (GVariant) meta = NULL;
  g_autoptr (GVariant) folders = NULL;
  if (!write_tree (store, m, compose, mtree, &p, cancellable, error)
      || !ostree_repo_write_mtree (store->repo, mtree, &root, cancellable, error)
      || !find_kernel (root, r, cancellable, error)
      || !(folders = gen_checkout_folders (store->repo, OSTREE_REPO_FILE (root), cancellable,
                                           error)))
    {
      abort_import (store, NULL);
      return NULL;
    }
  r->version = m->release_version ? g_strdup (m->release_version)
                                  : read_os_release_version (root, cancellable);
  r->size = p.bytes;
  if (compose)
    {
      r->n_packages = gen_compose_get_packages (compose)->len;
      r->scripts_skipped = g_strdupv (gen_compose_get_scripts_skipped (compose));
      r->setuid_stripped = g_strdupv (gen_compose_get_setuid_stripped (compose));
      r->n_fetched = gen_compose_get_fetched (compose, NULL);
    }
  meta = release_metadata (r, compose, folders);
  g_autofree char *subject = g_strdup_printf ("gen release %s", r->version ? r->version : "");
  /* A fixed time and no parent: the same tree gives the same commit. */
  if (!ostree_repo_write_commit_with_time (store->repo, NULL, subject, NULL, meta,
                                           OSTREE_REPO_FILE (root), 0, &r->checksum, cancellable,
                                           error))
    {
      abort_import (store, NULL);
      return NULL;
    }
  if (digest && !racy)
    {
      store->keep_cache_key = g_steal_pointer (&cache_key);
      store->keep_digest = g_steal_pointer (&digest);
    }
  if (!keep)
    return g_steal_pointer (&r); /* gen_store_keep() or gen_store_discard() ends it */
  if (!gen_store_keep (store, m, r, cancellable, error))
    return NULL;
  if (progress)
    progress ("importing release", p.files, p.files, user_data);
  return g_steal_pointer (&r);
}

gboolean
gen_store_keep (GenStore *store, GenManifest *m, GenRelease *r, GCancellable *cancellable,
                GError **error)
{
  g_autofree char *ref = g_strdup_printf ("%s/release", m->os);
  if (!store->keep_cached && !store->staging_before)
    return TRUE; /* release.ref, or already kept */
  /* Remembered for gen_store_finish(). */
  g_autofree char *before = NULL;
  if (!ostree_repo_resolve_rev (store->repo, ref, TRUE, &before, error))
    return FALSE;
  gboolean moves = before && !g_str_equal (before, r->checksum);
  /* A commit killed half-way may leave the new release unnamed, too. */
  if ((moves || store->staging_before) && !gen_store_mark_unpruned (store, error))
    return FALSE;
  if (moves)
    g_ptr_array_add (store->replaced, g_steal_pointer (&before));
  if (store->keep_cached)
    {
      /* A stat cache hit: nothing to commit, only the ref to move. */
      g_autofree char *cached = g_steal_pointer (&store->keep_cached);
      return ostree_repo_set_ref_immediate (store->repo, NULL, ref, cached, cancellable, error);
    }
  ostree_repo_transaction_set_ref (store->repo, NULL, ref, r->checksum);
  if (!ostree_repo_commit_transaction (store->repo, NULL, cancellable, error))
    return FALSE;
  g_clear_pointer (&store->staging_before, g_ptr_array_unref);
  /* Only a cache write failing is no reason to fail the switch. */
  g_autofree char *key = g_steal_pointer (&store->keep_cache_key);
  g_autofree char *digest = g_steal_pointer (&store->keep_digest);
  if (digest)
    gen_statcache_store (store->sysroot_dfd, key, digest, r->checksum, NULL);
  return TRUE;
}

void
gen_store_set_dry_run (GenStore *store, gboolean dry_run)
{
  store->dry_run = dry_run;
}

gboolean
gen_store_discard (GenStore *store)
{
  return store->staging_before == NULL || abort_import (store, NULL);
}

OstreeRepo *
gen_store_get_repo (GenStore *store)
{
  return store->repo;
}

/* --- deployment ------------------------------------------------------------ */

gboolean
gen_store_deploy (GenStore *store, GenRelease *r, gboolean *out_new, GCancellable *cancellable,
                  GError **error)
{
  g_autofree char *target = gen_sysroot_deploy_path (r->checksum);
  *out_new = FALSE;
  if (gen_exists_at (store->sysroot_dfd, target))
    return TRUE;
  g_autofree char *tmp = g_strdup_printf (GEN_TMP_DIR "/deploy-%s", r->checksum);
  if (!gen_rm_rf_at (store->sysroot_dfd, tmp, error))
    return FALSE;
  GEN_CRASH_POINT ("before checking out", tmp);
  if (!gen_checkout_at (store->repo, store->sysroot_dfd, tmp, r->checksum, NULL, cancellable,
                        error))
    {
      g_prefix_error (error, "checking out release %.10s: ", r->checksum);
      return FALSE;
    }
  /* The checkout is hardlinks to synced objects, but its folders are new. */
  GEN_CRASH_POINT ("checked out, before syncfs", tmp);
  if (syncfs (store->sysroot_dfd) < 0)
    return gen_throw_errno (error, "syncing the checkout");
  if (!gen_rename_at (store->sysroot_dfd, tmp, target, error))
    return FALSE;
  *out_new = TRUE;
  return TRUE;
}

gboolean
gen_store_install_kernel (GenStore *store, GenRelease *r, const char *os, char **out_dir,
                          GError **error)
{
  g_autofree char *rel = g_strdup_printf ("%s/%s-%s", os, r->kernel_version, r->kernel_id);
  g_autofree char *target = g_build_filename (GEN_BOOT_DIR, rel, NULL);
  if (gen_exists_at (store->sysroot_dfd, target))
    {
      *out_dir = g_steal_pointer (&rel);
      return TRUE;
    }
  g_autofree char *os_dir = g_build_filename (GEN_BOOT_DIR, os, NULL);
  gboolean new_os_dir = !gen_exists_at (store->sysroot_dfd, os_dir);
  if (!gen_mkdir_p_at (store->sysroot_dfd, os_dir, 0755, error))
    return FALSE;
  /* The first kernel of an OS creates boot/<os>: without a sync of boot/ a
   * power cut could lose the folder, and every entry pointing into it. */
  if (new_os_dir && !gen_fsync_dir_at (store->sysroot_dfd, GEN_BOOT_DIR, error))
    return FALSE;
  /* Build the folder under a temporary name beside it, then publish it with
   * one rename: an entry never points at half a kernel. */
  g_autofree char *tmp = g_strdup_printf ("%s/.%s-%s.tmp-%08x", os_dir, r->kernel_version,
                                          r->kernel_id, g_random_int ());
  GEN_CRASH_POINT ("before mkdir", tmp);
  if (mkdirat (store->sysroot_dfd, tmp, 0755) < 0)
    return gen_throw_errno (error, "creating '%s'", tmp);
  g_autofree char *modules = g_strdup_printf (GEN_DEPLOY_DIR "/%s/usr/lib/modules/%s",
                                              r->checksum, r->kernel_version);
  static const char *const files[][2] = { { "vmlinuz", "vmlinuz" },
                                          { "initramfs.img", "initrd.img" } };
  for (guint i = 0; i < (r->has_initrd ? 2u : 1u); i++)
    {
      g_autofree char *src = g_build_filename (modules, files[i][0], NULL);
      g_autofree char *dst = g_build_filename (tmp, files[i][1], NULL);
      if (!gen_copy_file_at (store->sysroot_dfd, src, store->sysroot_dfd, dst, 0644, error))
        return FALSE;
    }
  if (!gen_fsync_dir_at (store->sysroot_dfd, tmp, error)
      || !gen_rename_at (store->sysroot_dfd, tmp, target, error))
    return FALSE;
  *out_dir = g_steal_pointer (&rel);
  return TRUE;
}

gboolean
gen_store_set_generation_ref (GenStore *store, guint number, const char *checksum,
                              GCancellable *cancellable, GError **error)
{
  g_autofree char *ref = g_strdup_printf (GENERATION_REF_PREFIX "/%u", number);
  /* ostree syncs the ref file, not the folders holding it (made with the
   * first generation): without them a power cut after the commit could lose
   * the ref that keeps the generation's release in the store. */
  int repo_dfd = ostree_repo_get_dfd (store->repo);
  const char *ref_dir = "refs/heads/" GENERATION_REF_PREFIX;
  gboolean new_dirs = !gen_exists_at (repo_dfd, ref_dir);
  GEN_CRASH_POINT ("before setting ref", ref);
  if (!ostree_repo_set_ref_immediate (store->repo, NULL, ref, checksum, cancellable, error))
    return FALSE;
  GEN_CRASH_POINT ("after setting ref", ref);
  if (!gen_fsync_dir_at (repo_dfd, ref_dir, error)
      || (new_dirs && (!gen_fsync_dir_at (repo_dfd, "refs/heads/gen", error)
                       || !gen_fsync_dir_at (repo_dfd, "refs/heads", error))))
    return FALSE;
  return TRUE;
}

/* A commit gen_store_import() wrote: subject "gen release …", time 0, no parent. */
static gboolean
is_gen_release (OstreeRepo *repo, const char *checksum)
{
  g_autoptr (GVariant) commit = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_COMMIT, checksum, &commit, NULL))
    return FALSE;
  const char *subject = NULL;
  g_variant_get_child (commit, 3, "&s", &subject);
  g_autofree char *parent = ostree_commit_get_parent (commit);
  return g_str_has_prefix (subject, "gen release") && ostree_commit_get_timestamp (commit) == 0
         && parent == NULL;
}

/* The commits some ref names (a set); NULL on failure. */
static GHashTable *
named_commits (OstreeRepo *repo, GCancellable *cancellable, GError **error)
{
  g_autoptr (GHashTable) refs = NULL;
  if (!ostree_repo_list_refs (repo, NULL, &refs, cancellable, error))
    return NULL;
  GHashTable *named = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, refs);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_hash_table_add (named, g_strdup (value));
  return named;
}

/* Whether no ref (of @named) names @checksum and no checkout uses it.  A
 * checkout keeps its release: a generation whose ref was lost still uses it
 * (gen fsck --repair sets the ref again). */
static gboolean
is_unnamed (GenStore *store, GHashTable *named, const char *checksum)
{
  g_autofree char *deploy = gen_sysroot_deploy_path (checksum);
  return !g_hash_table_contains (named, checksum) && !gen_exists_at (store->sysroot_dfd, deploy);
}

/* Removes the releases no ref names any more: a switch that failed after its
 * import (a full disk while copying the kernel, a kill) left the release
 * under <os>/release, and the next import moved that ref on.  Only gen's own
 * release commits are removed; anything else in the store is kept. */
static gboolean
prune_orphan_releases (GenStore *store, GPtrArray *removed, GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (GHashTable) commits = NULL;
  if (!ostree_repo_list_commit_objects_starting_with (store->repo, "", &commits, cancellable,
                                                      error))
    return FALSE;
  g_autoptr (GHashTable) named = named_commits (store->repo, cancellable, error);
  if (!named)
    return FALSE;
  GHashTableIter it;
  gpointer key;

  g_autoptr (GPtrArray) orphans = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) kept = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&it, commits);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const char *checksum;
      OstreeObjectType type;
      ostree_object_name_deserialize (key, &checksum, &type);
      if (is_unnamed (store, named, checksum) && is_gen_release (store->repo, checksum))
        g_ptr_array_add (orphans, g_strdup (checksum));
      else
        g_ptr_array_add (kept, g_strdup (checksum));
    }
  if (orphans->len == 0)
    return TRUE;

  g_autoptr (GHashTable) reachable = ostree_repo_traverse_new_reachable ();
  for (guint i = 0; i < kept->len; i++)
    if (!ostree_repo_traverse_commit_union (store->repo, kept->pdata[i], 0, reachable,
                                            cancellable, error))
      return FALSE;
  OstreeRepoPruneOptions opts = { OSTREE_REPO_PRUNE_FLAGS_NONE, reachable };
  gint total, pruned;
  guint64 size;
  GEN_CRASH_POINT ("before pruning releases", NULL);
  if (!ostree_repo_prune_from_reachable (store->repo, &opts, &total, &pruned, &size, cancellable,
                                         error))
    return FALSE;
  GEN_CRASH_POINT ("after pruning releases", NULL);
  for (guint i = 0; removed && i < orphans->len; i++)
    g_ptr_array_add (removed, g_strdup_printf ("release %s (no ref names it)",
                                               (char *) orphans->pdata[i]));
  g_debug ("pruned %d of %d objects (%" G_GUINT64_FORMAT " bytes)", pruned, total, size);
  return TRUE;
}

/* Whether a commit this run moved a ref away from is now named by no ref and
 * used by no checkout.  Cheap: reads the refs, not the object folders. */
static gboolean
left_orphan (GenStore *store)
{
  g_autoptr (GHashTable) named = named_commits (store->repo, NULL, NULL);
  if (!named)
    return TRUE; /* let the scan look */
  for (guint i = 0; i < store->replaced->len; i++)
    if (is_unnamed (store, named, store->replaced->pdata[i]))
      return TRUE;
  return FALSE;
}

gboolean
gen_store_finish (GenStore *store, guint last, GError **error)
{
  if (!store->marked)
    return TRUE;
  if (left_orphan (store))
    return gen_store_cleanup (store, last, TRUE, NULL, NULL, error);
  gen_store_unmark_unpruned (store);
  return TRUE;
}

gboolean
gen_store_cleanup (GenStore *store, guint last, gboolean thorough, GPtrArray *removed,
                   GCancellable *cancellable, GError **error)
{
  /* An earlier run's mark is this run's to remove; and a ref deleted here
   * may have been a release's last. */
  if (gen_exists_at (store->sysroot_dfd, GEN_UNPRUNED_FILE))
    store->marked = TRUE;
  gboolean scan = thorough || store->marked;
  g_autoptr (GHashTable) refs = NULL;
  if (!ostree_repo_list_refs_ext (store->repo, GENERATION_REF_PREFIX, &refs,
                                  OSTREE_REPO_LIST_REFS_EXT_NONE, cancellable, error))
    return FALSE;
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, refs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const char *name = strrchr (key, '/');
      guint64 n;
      if (!name || !g_ascii_string_to_unsigned (name + 1, 10, 1, G_MAXINT, &n, NULL))
        continue;
      /* Above `last`: never committed.  At or below it without a folder: a
       * generation gen gc removed, killed before it deleted the ref. */
      g_autofree char *folder = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", (guint) n);
      if (n <= last && gen_exists_at (store->sysroot_dfd, folder))
        continue;
      if (!gen_store_mark_unpruned (store, error))
        return FALSE;
      scan = TRUE;
      GEN_CRASH_POINT ("before deleting ref", key);
      if (!ostree_repo_set_ref_immediate (store->repo, NULL, key, NULL, cancellable, error))
        return FALSE;
      GEN_CRASH_POINT ("after deleting ref", key);
      if (removed)
        g_ptr_array_add (removed, g_strdup_printf ("ref %s", (char *) key));
    }

  /* The staging folders of an import that was killed: ostree would resume
   * from them, but they hold a partial release for as long as they stay.
   * No transaction is open: the sysroot lock keeps other gen runs out. */
  g_autoptr (GPtrArray) staging = staging_entries (store);
  for (guint i = 0; i < staging->len; i++)
    {
      g_autofree char *path = g_build_filename ("tmp", staging->pdata[i], NULL);
      if (!gen_rm_rf_at (ostree_repo_get_dfd (store->repo), path, error))
        return FALSE;
      if (removed)
        g_ptr_array_add (removed, g_build_filename (GEN_REPO_DIR, path, NULL));
    }
  if (!scan)
    return TRUE;
  if (!prune_orphan_releases (store, removed, cancellable, error))
    return FALSE;
  if (gen_store_unmark_unpruned (store) && removed)
    g_ptr_array_add (removed, g_strdup (GEN_UNPRUNED_FILE));
  return TRUE;
}
