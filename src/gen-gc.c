/* gen-gc.c: `gen gc`, in the order gen-gc.h gives. */
#include "gen-gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-boot.h"
#include "gen-crash.h"
#include "gen-error.h"
#include "gen-pin.h"
#include "gen-statcache.h"
#include "gen-util.h"

void
gen_gc_result_free (GenGcResult *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->kept, g_array_unref);
  g_clear_pointer (&r->removed, g_array_unref);
  g_clear_pointer (&r->paths, g_ptr_array_unref);
  g_clear_pointer (&r->releases, g_ptr_array_unref);
  g_clear_pointer (&r->leftovers, g_ptr_array_unref);
  g_free (r);
}

static gint
newest_first (gconstpointer a, gconstpointer b)
{
  guint x = (*(GenGeneration **) a)->number, y = (*(GenGeneration **) b)->number;
  return x < y ? 1 : x > y ? -1 : 0;
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
gen_gc_plan (GPtrArray *generations, guint current, guint default_gen, guint booted,
             const guint *pinned, guint keep)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_sized_new (generations->len);
  for (guint i = 0; i < generations->len; i++)
    g_ptr_array_add (sorted, generations->pdata[i]);
  g_ptr_array_sort (sorted, newest_first);
  GArray *kept = g_array_new (TRUE, TRUE, sizeof (guint));
  for (guint i = 0; i < sorted->len; i++)
    {
      guint n = ((GenGeneration *) sorted->pdata[i])->number;
      if (i < keep || n == current || n == default_gen || (booted && n == booted)
          || gen_pins_contains (pinned, n))
        g_array_append_val (kept, n);
    }
  g_array_sort (kept, compare_uint);
  return kept;
}

/* Bytes that removing @path frees, as du --apparent-size counts them: folders,
 * and files and symlinks with no other link (a checkout's files are hard
 * links to store objects: the prune frees those, and counts them). */
static guint64
tree_bytes (int dfd, const char *path)
{
  struct stat st;
  if (fstatat (dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (!S_ISDIR (st.st_mode))
    return st.st_nlink == 1 ? (guint64) st.st_size : 0;
  int fd = openat (dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  guint64 total = st.st_size;
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return 0;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      total += tree_bytes (dirfd (d), de->d_name);
  closedir (d);
  return total;
}

/* Removes @path by renaming it to @aside, syncing the folder it left, then
 * removing @aside: a kill leaves either the whole of @path or a leftover
 * under a name cleanup removes. */
static gboolean
remove_via (int dfd, const char *path, const char *aside, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *aside_parent = g_path_get_dirname (aside);
  /* gen_rename_at syncs the folder @aside is in; the one @path left too. */
  return gen_rename_at (dfd, path, aside, error)
         && (g_str_equal (parent, aside_parent) || gen_fsync_dir_at (dfd, parent, error))
         && gen_rm_rf_at (dfd, aside, error);
}

static void
report (GenProgressFunc progress, gpointer user_data, const char *step, guint64 done, guint64 total)
{
  if (progress)
    progress (step, done, total, user_data);
}

typedef struct
{
  OstreeRepo *repo;
  GPtrArray *going; /* a dry run: the releases the prune would remove */
} HasCommit;

static gboolean
has_commit (const char *checksum, gpointer user_data)
{
  HasCommit *h = user_data;
  gboolean have = FALSE;
  if (h->going && g_ptr_array_find_with_equal_func (h->going, checksum, g_str_equal, NULL))
    return FALSE;
  return ostree_repo_has_object (h->repo, OSTREE_OBJECT_TYPE_COMMIT, checksum, &have, NULL, NULL)
         && have;
}

GenGcResult *
gen_gc (GenSysroot *s, gint keep, gboolean dry_run, GenProgressFunc progress, gpointer user_data,
        GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (s->lock_fd >= 0, NULL);
  g_autoptr (GenGcResult) r = g_new0 (GenGcResult, 1);
  r->removed = g_array_new (TRUE, TRUE, sizeof (guint));
  r->paths = g_ptr_array_new_with_free_func (g_free);
  r->releases = g_ptr_array_new_with_free_func (g_free);
  r->leftovers = g_ptr_array_new_with_free_func (g_free);

  g_autoptr (GenStore) store = gen_store_open (s, cancellable, error);
  if (!store)
    return NULL;
  OstreeRepo *repo = gen_store_get_repo (store);
  /* What an interrupted run (a killed gc too) left goes first, as in a switch. */
  if (!dry_run
      && (!gen_sysroot_cleanup (s, r->leftovers, error)
          || !gen_store_cleanup (store, s->last, TRUE, r->leftovers, cancellable, error)))
    {
      g_prefix_error (error, "cleaning up: ");
      return NULL;
    }

  g_autoptr (GPtrArray) gens = gen_sysroot_list_generations (s, error);
  if (!gens)
    return NULL;
  g_autofree guint *pins = gen_pins_load (s, error);
  if (!pins)
    return NULL;
  guint booted = gen_sysroot_booted (s);
  guint limit = 0;
  for (guint i = 0; i < gens->len; i++)
    if (((GenGeneration *) gens->pdata[i])->number == s->default_gen)
      limit = ((GenGeneration *) gens->pdata[i])->boot_limit;
  r->keep = keep >= 0 ? (guint) keep : limit ? limit : GEN_GC_DEFAULT_KEEP;
  r->kept = gen_gc_plan (gens, s->current, s->default_gen, booted, pins, r->keep);

  /* What the kept generations use stays. */
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) victims = g_ptr_array_new ();
  for (guint i = 0; i < gens->len; i++)
    {
      GenGeneration *g = gens->pdata[i];
      if (!gen_pins_contains ((guint *) r->kept->data, g->number))
        {
          g_ptr_array_add (victims, g);
          g_array_append_val (r->removed, g->number);
          continue;
        }
      g_hash_table_add (used, gen_sysroot_deploy_path (g->release_checksum));
      if (g->kernel_dir)
        g_hash_table_add (used, g_build_filename (GEN_BOOT_DIR, g->kernel_dir, NULL));
    }
  if (victims->len == 0)
    return g_steal_pointer (&r);

  /* The checkouts and kernel folders only victims use, and what they hold. */
  g_autoptr (GPtrArray) deploys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) kernels = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < victims->len; i++)
    {
      GenGeneration *g = victims->pdata[i];
      g_autofree char *folder = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", g->number);
      r->bytes += tree_bytes (s->dfd, folder);
      char *deploy = gen_sysroot_deploy_path (g->release_checksum);
      if (!g_hash_table_contains (used, deploy) && gen_exists_at (s->dfd, deploy))
        {
          g_hash_table_add (used, g_strdup (deploy));
          g_ptr_array_add (deploys, deploy);
          r->bytes += tree_bytes (s->dfd, deploy);
        }
      else
        g_free (deploy);
      char *kernel = g->kernel_dir ? g_build_filename (GEN_BOOT_DIR, g->kernel_dir, NULL) : NULL;
      if (kernel && !g_hash_table_contains (used, kernel) && gen_exists_at (s->dfd, kernel))
        {
          g_hash_table_add (used, g_strdup (kernel));
          g_ptr_array_add (kernels, kernel);
          r->bytes += tree_bytes (s->dfd, kernel);
        }
      else
        g_free (kernel);
    }

  /* The refs that go, and the releases no other ref names. */
  g_autoptr (GHashTable) refs = NULL;
  if (!ostree_repo_list_refs (repo, NULL, &refs, cancellable, error))
    return NULL;
  g_autoptr (GPtrArray) victim_refs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < victims->len; i++)
    {
      char *ref = g_strdup_printf (GEN_GENERATION_REF_PREFIX "/%u",
                                   ((GenGeneration *) victims->pdata[i])->number);
      if (g_hash_table_contains (refs, ref))
        g_ptr_array_add (victim_refs, ref);
      else
        g_free (ref);
    }
  g_autoptr (GHashTable) still_named = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, refs);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (!g_ptr_array_find_with_equal_func (victim_refs, key, g_str_equal, NULL))
      g_hash_table_add (still_named, value);
  for (guint i = 0; i < victim_refs->len; i++)
    {
      const char *checksum = g_hash_table_lookup (refs, victim_refs->pdata[i]);
      if (!g_hash_table_contains (still_named, checksum)
          && !g_ptr_array_find_with_equal_func (r->releases, checksum, g_str_equal, NULL))
        g_ptr_array_add (r->releases, g_strdup (checksum));
    }

  /* What stays reachable: every ref but the victims', and the release of
   * every kept generation even when its ref was lost (gen fsck --repair
   * sets it again; pruning its commit would be damage no repair undoes). */
  report (progress, user_data, "reading the store", 0, 0);
  g_autoptr (GHashTable) reachable = ostree_repo_traverse_new_reachable ();
  GHashTableIter ci;
  g_hash_table_iter_init (&ci, still_named);
  while (g_hash_table_iter_next (&ci, &key, NULL))
    if (!ostree_repo_traverse_commit_union (repo, key, -1, reachable, cancellable, error))
      return NULL;
  for (guint i = 0; i < gens->len; i++)
    {
      GenGeneration *g = gens->pdata[i];
      gboolean have = FALSE;
      if (gen_pins_contains ((guint *) r->kept->data, g->number)
          && ostree_repo_has_object (repo, OSTREE_OBJECT_TYPE_COMMIT, g->release_checksum, &have,
                                     cancellable, NULL)
          && have
          && !ostree_repo_traverse_commit_union (repo, g->release_checksum, -1, reachable,
                                                 cancellable, error))
        return NULL;
    }

  if (dry_run)
    {
      OstreeRepoPruneOptions opts = { OSTREE_REPO_PRUNE_FLAGS_NO_PRUNE, reachable };
      gint total = 0, pruned = 0;
      guint64 size = 0;
      if (!ostree_repo_prune_from_reachable (repo, &opts, &total, &pruned, &size, cancellable,
                                             error))
        return NULL;
      r->objects = pruned;
      r->bytes += size;
      for (guint i = 0; i < deploys->len; i++)
        g_ptr_array_add (r->paths, g_strdup (deploys->pdata[i]));
      for (guint i = 0; i < kernels->len; i++)
        g_ptr_array_add (r->paths, g_strdup (kernels->pdata[i]));
      HasCommit h = { repo, r->releases };
      if (!gen_statcache_prune (s->dfd, has_commit, &h, TRUE, r->paths, error))
        return NULL;
      return g_steal_pointer (&r);
    }

  /* 1. No menu names a victim any more (nor falls back to one). */
  if (!gen_boot_sync_without (s, (guint *) r->removed->data, error))
    {
      g_prefix_error (error, "writing the boot menu: ");
      return NULL;
    }

  /* 2. Each victim leaves the list with one rename. */
  for (guint i = 0; i < victims->len; i++)
    {
      guint n = ((GenGeneration *) victims->pdata[i])->number;
      report (progress, user_data, "removing generations", i, victims->len);
      g_autofree char *folder = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", n);
      g_autofree char *aside = g_strdup_printf (GEN_TMP_DIR "/gc-generation-%u", n);
      if (!remove_via (s->dfd, folder, aside, error))
        {
          g_prefix_error (error, "removing generation %u: ", n);
          return NULL;
        }
    }

  /* 3. Their refs.  Until the prune, a release may be named by none: a run
   * killed before it leaves the store marked for the next cleanup. */
  if (victim_refs->len > 0 && !gen_store_mark_unpruned (store, error))
    return NULL;
  int repo_dfd = ostree_repo_get_dfd (repo);
  for (guint i = 0; i < victim_refs->len; i++)
    {
      const char *ref = victim_refs->pdata[i];
      GEN_CRASH_POINT ("before deleting ref", ref);
      if (!ostree_repo_set_ref_immediate (repo, NULL, ref, NULL, cancellable, error))
        return NULL;
      GEN_CRASH_POINT ("after deleting ref", ref);
    }
  if (victim_refs->len > 0
      && !gen_fsync_dir_at (repo_dfd, "refs/heads/" GEN_GENERATION_REF_PREFIX, error))
    return NULL;

  /* 4. Checkouts and kernels no kept generation uses. */
  guint total_dirs = deploys->len + kernels->len, done = 0;
  for (guint i = 0; i < deploys->len; i++, done++)
    {
      const char *path = deploys->pdata[i];
      report (progress, user_data, "removing checkouts and kernels", done, total_dirs);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *aside = g_strdup_printf (GEN_TMP_DIR "/gc-deploy-%s", base);
      if (!remove_via (s->dfd, path, aside, error))
        return NULL;
      g_ptr_array_add (r->paths, g_strdup (path));
    }
  for (guint i = 0; i < kernels->len; i++, done++)
    {
      const char *path = kernels->pdata[i];
      report (progress, user_data, "removing checkouts and kernels", done, total_dirs);
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *aside = g_strdup_printf ("%s/.%s.tmp-gc", dir, base);
      if (!remove_via (s->dfd, path, aside, error))
        return NULL;
      g_ptr_array_add (r->paths, g_strdup (path));
    }

  /* 5. The store: every object neither a ref nor a kept generation reaches. */
  report (progress, user_data, "pruning the store", 0, 0);
  gint objects_total = 0, objects_pruned = 0;
  guint64 pruned_size = 0;
  OstreeRepoPruneOptions opts = { OSTREE_REPO_PRUNE_FLAGS_NONE, reachable };
  GEN_CRASH_POINT ("before pruning the store", GEN_REPO_DIR);
  if (!ostree_repo_prune_from_reachable (repo, &opts, &objects_total, &objects_pruned,
                                         &pruned_size, cancellable, error))
    {
      g_prefix_error (error, "pruning the store: ");
      return NULL;
    }
  GEN_CRASH_POINT ("after pruning the store", GEN_REPO_DIR);
  gen_store_unmark_unpruned (store);
  r->objects = objects_pruned;
  r->bytes += pruned_size;

  /* 6. Stat cache entries naming a commit that is gone. */
  HasCommit h = { repo, NULL };
  if (!gen_statcache_prune (s->dfd, has_commit, &h, FALSE, r->paths, error))
    return NULL;
  return g_steal_pointer (&r);
}
