/* gen-import.c: a folder written into the store by libostree, cut into
 * parts that threads write side by side (see gen-import.h). */
#include "gen-import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-parts.h"
#include "gen-util.h"

#define DEFAULT_MIN_WEIGHT 2000
/* A file weighs 1, and 1 more per 64 KiB: reading, checksumming and
 * copying that much costs about what a file's own calls do. */
#define BYTES_PER_WEIGHT 65536

/* Adds the folder open as @dfd (taken), named @path as ostree's commit
 * filter names it ("/usr/share"), and everything below it to @folders;
 * *@out_weight: its own. */
static gboolean
plan_folder (GArray *folders, int dfd, const char *path, guint parent, guint64 *out_weight,
             GError **error)
{
  DIR *d = fdopendir (dfd);
  if (!d)
    {
      close (dfd);
      return gen_throw_errno (error, "reading '%s'", path);
    }
  guint self = folders->len;
  GenPartsFolder f = { g_strdup (path), parent, 0, TRUE, FALSE };
  g_array_append_val (folders, f);
  guint64 weight = 1;
  gboolean ok = TRUE;
  struct dirent *de;
  while (ok && (errno = 0, de = readdir (d)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        ok = gen_throw_errno (error, "reading '%s/%s'", path, de->d_name);
      else if (S_ISDIR (st.st_mode))
        {
          g_autofree char *sub
              = g_strconcat (g_str_equal (path, "/") ? "" : path, "/", de->d_name, NULL);
          int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          guint64 sub_weight = 0;
          ok = fd >= 0 ? plan_folder (folders, fd, sub, self, &sub_weight, error)
                       : gen_throw_errno (error, "opening '%s'", sub);
          weight += sub_weight;
        }
      else
        weight += 1 + (S_ISREG (st.st_mode) ? (guint64) st.st_size / BYTES_PER_WEIGHT : 0);
    }
  if (ok && errno != 0)
    ok = gen_throw_errno (error, "reading '%s'", path);
  closedir (d);
  g_array_index (folders, GenPartsFolder, self).weight = weight;
  *out_weight = weight;
  return ok;
}

typedef struct
{
  OstreeRepo *repo;
  int dfd; /* the folder imported */
  OstreeRepoCommitModifierFlags flags;
  OstreeRepoCommitFilter filter;
  gpointer filter_data;
  GMutex lock;               /* one filter call at a time */
  GArray *folders;           /* the plan */
  GHashTable *skip;          /* the parts' paths: the first pass leaves them out */
  OstreeMutableTree *mtree;  /* the first pass's */
  OstreeMutableTree **trees; /* each part's, by its index in folders; NULL: filtered out */
  GCancellable *cancellable;
} Import;

static OstreeRepoCommitFilterResult
call_filter (Import *im, const char *path, GFileInfo *info)
{
  if (!im->filter)
    return OSTREE_REPO_COMMIT_FILTER_ALLOW;
  g_mutex_lock (&im->lock);
  OstreeRepoCommitFilterResult r = im->filter (im->repo, path, info, im->filter_data);
  g_mutex_unlock (&im->lock);
  return r;
}

/* ostree asks about a folder twice, as an entry of the folder above and
 * as the folder it then reads; a part's call asks the second time (and
 * leaves the part out if told to). */
static OstreeRepoCommitFilterResult
first_pass_filter (OstreeRepo *repo, const char *path, GFileInfo *info, gpointer user_data)
{
  Import *im = user_data;
  OstreeRepoCommitFilterResult r = call_filter (im, path, info);
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY
      && g_hash_table_contains (im->skip, path))
    return OSTREE_REPO_COMMIT_FILTER_SKIP;
  return r;
}

typedef struct
{
  Import *im;
  const char *path; /* the part's, from the top */
} PartFilter;

/* A part's call names paths from the part: the filter gets them from the top. */
static OstreeRepoCommitFilterResult
part_filter (OstreeRepo *repo, const char *path, GFileInfo *info, gpointer user_data)
{
  PartFilter *pf = user_data;
  g_autofree char *full
      = g_str_equal (path, "/") ? g_strdup (pf->path) : g_strconcat (pf->path, path, NULL);
  return call_filter (pf->im, full, info);
}

/* The first pass: the parts do not wait for it (the run is not gated). */
static gboolean
write_rest (gpointer user_data, GenPartsRun *run, GError **error)
{
  Import *im = user_data;
  g_autoptr (OstreeRepoCommitModifier) modifier
      = ostree_repo_commit_modifier_new (im->flags, first_pass_filter, im, NULL);
  return ostree_repo_write_dfd_to_mtree (im->repo, im->dfd, ".", im->mtree, modifier,
                                         im->cancellable, error);
}

static gboolean
write_part (gpointer user_data, gpointer thread_data, const GenPartsFolder *part, GError **error)
{
  Import *im = user_data;
  PartFilter pf = { im, part->path };
  g_autoptr (OstreeRepoCommitModifier) modifier
      = ostree_repo_commit_modifier_new (im->flags, part_filter, &pf, NULL);
  g_autoptr (OstreeMutableTree) tree = ostree_mutable_tree_new ();
  g_autoptr (GFile) root = NULL;
  gen_autofd fd = gen_open_dir_below (im->dfd, part->path, error);
  if (fd < 0)
    return FALSE;
  if (!ostree_repo_write_dfd_to_mtree (im->repo, fd, ".", tree, modifier, im->cancellable, error))
    {
      g_prefix_error (error, "%s: ", part->path + 1);
      return FALSE;
    }
  /* The filter left the part out: so is it from the tree. */
  if (!ostree_mutable_tree_get_metadata_checksum (tree))
    return TRUE;
  if (!ostree_repo_write_mtree (im->repo, tree, &root, im->cancellable, error))
    return FALSE;
  guint i = part - (const GenPartsFolder *) (gpointer) im->folders->data;
  im->trees[i] = g_steal_pointer (&tree);
  return TRUE;
}

/* Puts the part @part, written as @tree, in place in the first pass's tree. */
static gboolean
graft (Import *im, const GenPartsFolder *part, OstreeMutableTree *tree, GError **error)
{
  g_auto (GStrv) names = g_strsplit (part->path + 1, "/", -1);
  g_autoptr (GPtrArray) split = g_ptr_array_new ();
  for (guint i = 0; names[i]; i++)
    g_ptr_array_add (split, names[i]);
  g_autoptr (OstreeMutableTree) parent = NULL;
  if (!ostree_mutable_tree_walk (im->mtree, split, 0, &parent, NULL))
    return TRUE; /* the filter left a folder above it out */
  g_autoptr (OstreeMutableTree) dir = NULL;
  if (!ostree_mutable_tree_ensure_dir (parent, split->pdata[split->len - 1], &dir, error))
    return FALSE;
  if (!ostree_mutable_tree_fill_empty_from_dirtree (
          dir, im->repo, ostree_mutable_tree_get_contents_checksum (tree),
          ostree_mutable_tree_get_metadata_checksum (tree)))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "%s: written twice", part->path + 1);
      return FALSE;
    }
  return TRUE;
}

gboolean
gen_import_dir (OstreeRepo *repo, const char *path, OstreeMutableTree *mtree,
                OstreeRepoCommitModifierFlags flags, OstreeRepoCommitFilter filter,
                gpointer filter_data, GenImportOptions *options, GCancellable *cancellable,
                GError **error)
{
  GenImportOptions defaults = { 0 };
  if (!options)
    options = &defaults;
  options->out_parts = 0;
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, path, error);
  if (dfd < 0)
    return FALSE;
  guint threads = gen_parts_threads (options->threads);
  guint64 min_weight = options->min_weight ? options->min_weight : DEFAULT_MIN_WEIGHT;

  /* The plan: every folder, weighed.  A folder that cannot be read is left
   * to the one call, to fail there as it would have. */
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  g_autoptr (GPtrArray) parts = NULL;
  int plan_fd = threads > 1 ? openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  guint64 total = 0;
  if (plan_fd >= 0 && plan_folder (folders, plan_fd, "/", 0, &total, NULL))
    parts = gen_parts_choose (folders, threads, min_weight);
  if (!parts || parts->len == 0)
    {
      g_autoptr (OstreeRepoCommitModifier) modifier
          = ostree_repo_commit_modifier_new (flags, filter, filter_data, NULL);
      return ostree_repo_write_dfd_to_mtree (repo, dfd, ".", mtree, modifier, cancellable, error);
    }

  g_autoptr (GHashTable) skip = gen_parts_paths (parts);
  g_autofree OstreeMutableTree **trees = g_new0 (OstreeMutableTree *, folders->len);
  Import im
      = { repo, dfd, flags, filter, filter_data, { 0 }, folders, skip, mtree, trees, cancellable };
  g_mutex_init (&im.lock);
  const GenPartsWork work = { write_rest, FALSE, NULL, NULL, write_part };
  gboolean ok = gen_parts_run (parts, threads, &work, &im, error);
  for (guint i = 0; ok && i < parts->len; i++)
    {
      const GenPartsFolder *part = parts->pdata[i];
      OstreeMutableTree *tree = trees[part - (GenPartsFolder *) (gpointer) folders->data];
      ok = !tree || graft (&im, part, tree, error);
    }
  for (guint i = 0; i < folders->len; i++)
    g_clear_object (&trees[i]);
  g_mutex_clear (&im.lock);
  if (ok)
    options->out_parts = parts->len;
  return ok;
}
