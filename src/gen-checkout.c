/* gen-checkout.c: a hardlink checkout by libostree, cut into parts that
 * threads check out side by side (see gen-checkout.h). */
#include "gen-checkout.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-error.h"
#include "gen-parts.h"
#include "gen-util.h"

#define DEFAULT_MIN_ENTRIES 2000
/* A release's record of its folders whose paths would take more is left
 * aside (each path is its own string, so a chain of n folders takes ~n²/2
 * bytes); reading such a tree's folders takes as much. */
#define MAX_RECORD_PATH_BYTES (64 << 20)

/* The plan, when the release does not record it (GEN_CHECKOUT_META_FOLDERS)
 * and when the import records it: every folder and its weight, from the
 * dirtree objects alone.  Reading them is 8 syscalls each (770 in Debian
 * minbase: ~15 ms on one thread), so a checkout's threads read folders off a
 * shared queue (the import's one thread reads them alone); each appends the
 * subfolders it finds, so a folder always comes after the one above it.  A
 * folder's weight is first its own (1 + its files), then each folder's is
 * added to the one above, last first. */
typedef struct
{
  char *path;
  char tree[OSTREE_SHA256_STRING_LEN + 1], meta[OSTREE_SHA256_STRING_LEN + 1];
  guint index; /* in folders */
} Todo;

typedef struct
{
  OstreeRepo *repo;
  GCancellable *cancellable;
  GMutex lock;
  GCond cond;
  GArray *folders; /* of GenPartsFolder, paths as "/usr/share/" (ostree's filter names them so) */
  GQueue todo;     /* of Todo */
  guint busy;      /* threads reading a folder */
  GError *error;   /* the first */
  GThread *owner;  /* the calling thread, which uses repo itself */
} Plan;

static void
todo_free (Todo *t)
{
  if (!t)
    return;
  g_free (t->path);
  g_free (t);
}

static gboolean
folder_mode (OstreeRepo *repo, GHashTable *modes, const char *meta, guint32 *out_mode,
             GError **error)
{
  gpointer mode;
  if (g_hash_table_lookup_extended (modes, meta, NULL, &mode))
    {
      *out_mode = GPOINTER_TO_UINT (mode);
      return TRUE;
    }
  g_autoptr (GVariant) v = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_DIR_META, meta, &v, error))
    return FALSE;
  guint32 be_mode;
  g_variant_get (v, "(uuu@a(ayay))", NULL, NULL, &be_mode, NULL);
  *out_mode = GUINT32_FROM_BE (be_mode);
  g_hash_table_insert (modes, g_strdup (meta), GUINT_TO_POINTER (*out_mode));
  return TRUE;
}

static gboolean
checksum_of (GVariant *bytes, char out[OSTREE_SHA256_STRING_LEN + 1], GError **error)
{
  const guchar *csum = ostree_checksum_bytes_peek_validate (bytes, error);
  if (!csum)
    return FALSE;
  ostree_checksum_inplace_from_bytes (csum, out);
  return TRUE;
}

/* Whether the first pass may give a folder of @mode its final mode with
 * parts still to be made in it: its owner can write to it, and nobody else
 * can (ostree keeps a folder 0700 until its content is made, so that no one
 * adds to it). */
static gboolean
can_split (guint32 mode)
{
  return (mode & 0300) == 0300 && (mode & 0022) == 0;
}

/* A part's path becomes a path on disk: no name may climb out. */
static gboolean
folder_name_ok (const char *name)
{
  return *name && !strchr (name, '/') && !g_str_equal (name, ".") && !g_str_equal (name, "..");
}

/* Reads the folder @t: its own weight and mode, and its subfolders, queued
 * as Todos in @subs. */
static gboolean
read_folder (OstreeRepo *repo, GHashTable *modes, const Todo *t, guint64 *out_weight,
             gboolean *out_splittable, GPtrArray *subs, GError **error)
{
  g_autoptr (GVariant) v = NULL;
  guint32 mode;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_DIR_TREE, t->tree, &v, error)
      || !folder_mode (repo, modes, t->meta, &mode, error))
    return FALSE;
  g_autoptr (GVariant) files = g_variant_get_child_value (v, 0);
  g_autoptr (GVariant) dirs = g_variant_get_child_value (v, 1);
  *out_weight = 1 + g_variant_n_children (files);
  *out_splittable = can_split (mode);
  for (gsize i = 0; i < g_variant_n_children (dirs); i++)
    {
      const char *name;
      g_autoptr (GVariant) tree_v = NULL;
      g_autoptr (GVariant) meta_v = NULL;
      g_variant_get_child (dirs, i, "(&s@ay@ay)", &name, &tree_v, &meta_v);
      if (!folder_name_ok (name))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "invalid folder name '%s' in '%s'", name,
                       t->path);
          return FALSE;
        }
      Todo *sub = g_new0 (Todo, 1);
      g_ptr_array_add (subs, sub);
      sub->path = g_strconcat (t->path, name, "/", NULL);
      if (!checksum_of (tree_v, sub->tree, error) || !checksum_of (meta_v, sub->meta, error))
        return FALSE;
    }
  return TRUE;
}

/* Each thread opens the repository for itself: OstreeRepo does not promise
 * that calls from two threads at once are safe.  By its fd, which only
 * reads a field (ostree_repo_get_path() of a repository opened by fd sets
 * one, and names it through /proc). */
static OstreeRepo *
own_repo (OstreeRepo *repo, GCancellable *cancellable, GError **error)
{
  return ostree_repo_open_at (ostree_repo_get_dfd (repo), ".", cancellable, error);
}

static gpointer
plan_worker (gpointer data)
{
  Plan *p = data;
  g_autoptr (GError) local_error = NULL;
  /* Each thread its own repository (own_repo) and dirmeta modes; a helper
   * that cannot open one leaves the work to the others. */
  g_autoptr (OstreeRepo) own = NULL;
  OstreeRepo *repo = p->repo;
  if (g_thread_self () != p->owner
      && !(repo = own = own_repo (p->repo, p->cancellable, &local_error)))
    {
      g_debug ("plan: %s", local_error->message);
      return NULL;
    }
  g_autoptr (GHashTable) modes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_lock (&p->lock);
  for (;;)
    {
      while (!p->error && p->todo.length == 0 && p->busy > 0)
        g_cond_wait (&p->cond, &p->lock);
      Todo *t = p->error ? NULL : g_queue_pop_head (&p->todo);
      if (!t)
        break;
      p->busy++;
      g_mutex_unlock (&p->lock);
      guint64 weight = 0;
      gboolean splittable = FALSE;
      g_autoptr (GPtrArray) subs = g_ptr_array_new_with_free_func ((GDestroyNotify) todo_free);
      gboolean ok = read_folder (repo, modes, t, &weight, &splittable, subs, &local_error);
      g_mutex_lock (&p->lock);
      p->busy--;
      if (!ok && !p->error)
        p->error = g_steal_pointer (&local_error);
      g_clear_error (&local_error);
      if (ok)
        {
          GenPartsFolder *f = &g_array_index (p->folders, GenPartsFolder, t->index);
          f->weight = weight;
          f->splittable = splittable;
          for (guint i = 0; i < subs->len; i++)
            {
              Todo *sub = g_steal_pointer (&subs->pdata[i]);
              GenPartsFolder sf = { g_strdup (sub->path), t->index, 0, FALSE, FALSE };
              sub->index = p->folders->len;
              g_array_append_val (p->folders, sf);
              g_queue_push_tail (&p->todo, sub);
            }
        }
      todo_free (t);
      g_cond_broadcast (&p->cond);
    }
  g_mutex_unlock (&p->lock);
  return NULL;
}

/* Fills @folders with the tree @tree (dirmeta @meta) on up to @threads threads. */
static gboolean
plan_tree (OstreeRepo *repo, const char *tree, const char *meta, GArray *folders, guint threads,
           GCancellable *cancellable, GError **error)
{
  Plan p
      = { .repo = repo, .cancellable = cancellable, .folders = folders, .owner = g_thread_self () };
  g_mutex_init (&p.lock);
  g_cond_init (&p.cond);
  Todo *top = g_new0 (Todo, 1);
  top->path = g_strdup ("/");
  memcpy (top->tree, tree, sizeof top->tree);
  memcpy (top->meta, meta, sizeof top->meta);
  GenPartsFolder f = { g_strdup ("/"), 0, 0, FALSE, FALSE };
  g_array_append_val (folders, f);
  g_queue_push_tail (&p.todo, top);
  g_autoptr (GPtrArray) helpers = g_ptr_array_new ();
  for (guint i = 1; i < threads; i++)
    {
      GThread *t = g_thread_try_new ("gen-plan", plan_worker, &p, NULL);
      if (t)
        g_ptr_array_add (helpers, t);
    }
  plan_worker (&p);
  for (guint i = 0; i < helpers->len; i++)
    g_thread_join (helpers->pdata[i]);
  g_queue_clear_full (&p.todo, (GDestroyNotify) todo_free);
  g_mutex_clear (&p.lock);
  g_cond_clear (&p.cond);
  if (p.error)
    {
      g_propagate_error (error, p.error);
      return FALSE;
    }
  for (guint i = folders->len - 1; i > 0; i--)
    {
      GenPartsFolder *sub = &g_array_index (folders, GenPartsFolder, i);
      g_array_index (folders, GenPartsFolder, sub->parent).weight += sub->weight;
    }
  return TRUE;
}

/* Folder @i's name in @folders: "" for the top, "share" for "/usr/share/". */
static char *
folder_name (GArray *folders, guint i)
{
  return i == 0 ? g_strdup ("") : g_path_get_basename (g_array_index (folders, GenPartsFolder, i).path);
}

GVariant *
gen_checkout_folders (OstreeRepo *repo, OstreeRepoFile *root, GCancellable *cancellable,
                      GError **error)
{
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  if (!ostree_repo_file_ensure_resolved (root, error)
      || !plan_tree (repo, ostree_repo_file_tree_get_contents_checksum (root),
                     ostree_repo_file_tree_get_metadata_checksum (root), folders, 1, cancellable,
                     error))
    return NULL;
  g_autofree guint *kept = g_new0 (guint, folders->len); /* each folder's index among those kept */
  guint n = 0;
  g_auto (GVariantBuilder) b;
  g_variant_builder_init (&b, G_VARIANT_TYPE (GEN_CHECKOUT_FOLDERS_TYPE));
  for (guint i = 0; i < folders->len; i++)
    {
      if (!gen_parts_folder_matters (folders, i))
        continue;
      const GenPartsFolder *f = &g_array_index (folders, GenPartsFolder, i);
      g_autofree char *name = folder_name (folders, i);
      kept[i] = n++;
      g_variant_builder_add (&b, "(sutb)", name, kept[f->parent], f->weight, f->splittable);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* Fills the empty @folders from a release's GEN_CHECKOUT_META_FOLDERS @v;
 * FALSE, and @folders emptied, when @v is not well formed. */
static gboolean
folders_from_metadata (GVariant *v, GArray *folders)
{
  gsize n = g_variant_n_children (v);
  gsize bytes = 0;
  gsize i;
  for (i = 0; i < n; i++)
    {
      const char *name;
      guint32 parent;
      guint64 weight;
      gboolean splittable;
      g_variant_get_child (v, i, "(&sutb)", &name, &parent, &weight, &splittable);
      if (i == 0 ? *name || parent != 0 : parent >= i || !folder_name_ok (name))
        break;
      const char *above = i == 0 ? "" : g_array_index (folders, GenPartsFolder, parent).path;
      GenPartsFolder f = { g_strconcat (above, name, "/", NULL), parent, weight, splittable, FALSE };
      g_array_append_val (folders, f);
      if ((bytes += strlen (f.path)) > MAX_RECORD_PATH_BYTES)
        break;
    }
  if (n > 0 && i == n)
    return TRUE;
  g_array_set_size (folders, 0);
  return FALSE;
}

/* A split folder's subfolders, by name, as its dirtree names them. */
typedef struct
{
  GVariant *dirs; /* a(sayay) */
  GHashTable *index; /* name (in dirs) -> 1 + its index in dirs; removed once matched */
} Subfolders;

static void
subfolders_free (Subfolders *s)
{
  if (!s)
    return;
  g_hash_table_unref (s->index);
  g_variant_unref (s->dirs);
  g_free (s);
}

/* Whether the cut in @folders, chosen from a release's record, fits the
 * release's tree @tree (dirmeta @meta), so that checking it out makes that
 * tree: every folder split may be (by its own dirmeta, not the record), and
 * every recorded folder right below a split one is one of its subfolders,
 * no two the same.  Reads the split folders' dirtree and dirmeta objects
 * alone (a few). */
static gboolean
cut_fits_tree (OstreeRepo *repo, GArray *folders, const char *tree, const char *meta)
{
  g_autoptr (GPtrArray) subs = g_ptr_array_new_full (folders->len, (GDestroyNotify) subfolders_free);
  g_ptr_array_set_size (subs, folders->len); /* by folder; NULL for one not split */
  g_autoptr (GHashTable) modes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < folders->len; i++)
    {
      const GenPartsFolder *f = &g_array_index (folders, GenPartsFolder, i);
      char sub_tree[OSTREE_SHA256_STRING_LEN + 1], sub_meta[OSTREE_SHA256_STRING_LEN + 1];
      if (i == 0)
        {
          memcpy (sub_tree, tree, sizeof sub_tree);
          memcpy (sub_meta, meta, sizeof sub_meta);
        }
      else if (g_array_index (folders, GenPartsFolder, f->parent).split)
        {
          Subfolders *above = subs->pdata[f->parent];
          g_autofree char *name = folder_name (folders, i);
          guint at = GPOINTER_TO_UINT (g_hash_table_lookup (above->index, name));
          if (at == 0)
            return FALSE; /* not a subfolder, or one matched already */
          g_hash_table_remove (above->index, name);
          g_autoptr (GVariant) tree_v = NULL;
          g_autoptr (GVariant) meta_v = NULL;
          g_variant_get_child (above->dirs, at - 1, "(&s@ay@ay)", NULL, &tree_v, &meta_v);
          if (!checksum_of (tree_v, sub_tree, NULL) || !checksum_of (meta_v, sub_meta, NULL))
            return FALSE;
        }
      else if (f->split)
        return FALSE; /* cannot be: gen_parts_choose() splits only below a split folder */
      if (!f->split)
        continue;
      guint32 mode;
      g_autoptr (GVariant) v = NULL;
      if (!folder_mode (repo, modes, sub_meta, &mode, NULL) || !can_split (mode)
          || !ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_DIR_TREE, sub_tree, &v, NULL))
        return FALSE;
      Subfolders *s = g_new0 (Subfolders, 1);
      subs->pdata[i] = s;
      s->dirs = g_variant_get_child_value (v, 1);
      s->index = g_hash_table_new (g_str_hash, g_str_equal);
      for (gsize j = 0; j < g_variant_n_children (s->dirs); j++)
        {
          const char *name;
          g_variant_get_child (s->dirs, j, "(&s@ay@ay)", &name, NULL, NULL);
          g_hash_table_insert (s->index, (gpointer) name, GUINT_TO_POINTER (j + 1));
        }
    }
  return TRUE;
}

typedef struct
{
  OstreeRepo *repo;
  const OstreeRepoCheckoutAtOptions *options;
  int dfd;
  const char *dest;
  const char *commit;
  GHashTable *parts; /* path -> part: the first pass leaves them out */
  GenPartsRun *run;  /* while the first pass runs */
  GMutex lock;
  int dest_fd; /* the checkout, once a part needed it; under lock */
  GCancellable *cancellable;
} Work;

/* The first pass leaves the parts out, and releases each to the threads
 * as it reaches it: the folder above it is made then.  ostree names a
 * folder with a trailing slash; one without is looked up with it. */
static OstreeRepoCheckoutFilterResult
skip_parts (OstreeRepo *repo, const char *path, struct stat *st, gpointer user_data)
{
  Work *w = user_data;
  if (!S_ISDIR (st->st_mode))
    return OSTREE_REPO_CHECKOUT_FILTER_ALLOW;
  GenPartsFolder *part;
  if (g_str_has_suffix (path, "/"))
    part = g_hash_table_lookup (w->parts, path);
  else
    {
      g_autofree char *slashed = g_strconcat (path, "/", NULL);
      part = g_hash_table_lookup (w->parts, slashed);
    }
  if (!part)
    return OSTREE_REPO_CHECKOUT_FILTER_ALLOW;
  gen_parts_release (w->run, part);
  return OSTREE_REPO_CHECKOUT_FILTER_SKIP;
}

static gboolean
check_out_first (gpointer user_data, GenPartsRun *run, GError **error)
{
  Work *w = user_data;
  w->run = run;
  OstreeRepoCheckoutAtOptions first = *w->options;
  first.filter = skip_parts;
  first.filter_user_data = w;
  return ostree_repo_checkout_at (w->repo, &first, w->dfd, w->dest, w->commit, w->cancellable,
                                  error);
}

/* The checkout's folder, opened once, by the first part that needs it (the
 * first pass has made it by then). */
static int
dest_fd (Work *w, GError **error)
{
  g_mutex_lock (&w->lock);
  if (w->dest_fd < 0)
    w->dest_fd = gen_open_dir_at (w->dfd, w->dest, error);
  int fd = w->dest_fd;
  g_mutex_unlock (&w->lock);
  return fd;
}

/* The folder above @path ("/usr/share", not the top) in the checkout, opened
 * name by name: a deep folder's whole path may be longer than a path can
 * be; *@out_name: @path's last name. */
static int
open_above (int dest_fd, const char *path, char **out_name, GError **error)
{
  g_autofree char *above = g_path_get_dirname (path);
  *out_name = g_path_get_basename (path);
  return gen_open_dir_below (dest_fd, above, error);
}

static gpointer
open_repo (gpointer user_data, GError **error)
{
  Work *w = user_data;
  return own_repo (w->repo, w->cancellable, error);
}

static gboolean
check_out_part (gpointer user_data, gpointer thread_data, const GenPartsFolder *part,
                GError **error)
{
  Work *w = user_data;
  g_autofree char *subpath = g_strndup (part->path, strlen (part->path) - 1);
  g_autofree char *name = NULL;
  int top_fd = dest_fd (w, error);
  if (top_fd < 0)
    return FALSE;
  gen_autofd above_fd = open_above (top_fd, subpath, &name, error);
  if (above_fd < 0)
    return FALSE;
  OstreeRepoCheckoutAtOptions options = *w->options;
  options.subpath = subpath;
  if (!ostree_repo_checkout_at (thread_data, &options, above_fd, name, w->commit, w->cancellable,
                                error))
    {
      g_prefix_error (error, "%s: ", subpath);
      return FALSE;
    }
  return TRUE;
}

/* ostree gives each folder the mtime OSTREE_TIMESTAMP once its content is
 * made; a split folder's parts were made after that. */
static gboolean
reset_mtimes (GArray *folders, int dest_fd, GError **error)
{
  const struct timespec times[2] = { { 0, UTIME_OMIT }, { OSTREE_TIMESTAMP, 0 } };
  for (guint i = 0; i < folders->len; i++)
    {
      const GenPartsFolder *f = &g_array_index (folders, GenPartsFolder, i);
      if (!f->split)
        continue;
      if (i == 0)
        {
          if (futimens (dest_fd, times) < 0)
            return gen_throw_errno (error, "setting the mtime of '/'");
          continue;
        }
      g_autofree char *path = g_strndup (f->path, strlen (f->path) - 1);
      g_autofree char *name = NULL;
      gen_autofd above_fd = open_above (dest_fd, path, &name, error);
      if (above_fd < 0)
        return FALSE;
      if (utimensat (above_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return gen_throw_errno (error, "setting the mtime of '%s'", f->path);
    }
  return TRUE;
}

gboolean
gen_checkout_at (OstreeRepo *repo, int dfd, const char *dest, const char *commit,
                 GenCheckoutOptions *options, GCancellable *cancellable, GError **error)
{
  GenCheckoutOptions defaults = { 0 };
  if (!options)
    options = &defaults;
  options->out_parts = 0;
  options->out_recorded = FALSE;
  OstreeRepoCheckoutAtOptions co = { 0 };
  if (ostree_repo_get_mode (repo) != OSTREE_REPO_MODE_BARE)
    {
      co.mode = OSTREE_REPO_CHECKOUT_MODE_USER;
      co.bareuseronly_dirs = TRUE;
    }
  guint threads = gen_parts_threads (options->threads);
  guint min_entries = options->min_entries ? options->min_entries : DEFAULT_MIN_ENTRIES;
  if (threads < 2)
    return ostree_repo_checkout_at (repo, &co, dfd, dest, commit, cancellable, error);

  /* The cut: from the folders' weights as the release records them, if
   * that cut fits the tree, else as the plan reads them. */
  g_autoptr (GVariant) commit_v = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &commit_v, error))
    return FALSE;
  g_autoptr (GVariant) tree_v = g_variant_get_child_value (commit_v, 6);
  g_autoptr (GVariant) meta_v = g_variant_get_child_value (commit_v, 7);
  char tree[OSTREE_SHA256_STRING_LEN + 1], meta[OSTREE_SHA256_STRING_LEN + 1];
  if (!checksum_of (tree_v, tree, error) || !checksum_of (meta_v, meta, error))
    return FALSE;
  g_autoptr (GVariant) commit_meta = g_variant_get_child_value (commit_v, 0);
  g_autoptr (GVariant) recorded = g_variant_lookup_value (
      commit_meta, GEN_CHECKOUT_META_FOLDERS, G_VARIANT_TYPE (GEN_CHECKOUT_FOLDERS_TYPE));
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  g_autoptr (GPtrArray) parts = NULL;
  if (recorded && folders_from_metadata (recorded, folders))
    {
      parts = gen_parts_choose (folders, threads, min_entries);
      options->out_recorded = cut_fits_tree (repo, folders, tree, meta);
    }
  if (!options->out_recorded)
    {
      if (recorded)
        g_debug ("release %.10s: its %s is not well formed or does not fit its tree; reading "
                 "its folders", commit, GEN_CHECKOUT_META_FOLDERS);
      g_clear_pointer (&parts, g_ptr_array_unref);
      g_array_set_size (folders, 0);
      if (!plan_tree (repo, tree, meta, folders, threads, cancellable, error))
        return FALSE;
      parts = gen_parts_choose (folders, threads, min_entries);
    }
  if (parts->len == 0)
    return ostree_repo_checkout_at (repo, &co, dfd, dest, commit, cancellable, error);

  /* The first pass makes the folders the parts go into, and the parts
   * start as soon as their folder is made. */
  g_autoptr (GHashTable) paths = gen_parts_paths (parts);
  Work w = { repo, &co, dfd, dest, commit, paths, NULL, { 0 }, -1, cancellable };
  g_mutex_init (&w.lock);
  const GenPartsWork work = { check_out_first, TRUE, open_repo, g_object_unref, check_out_part };
  gboolean done = gen_parts_run (parts, threads, &work, &w, error);
  g_mutex_clear (&w.lock);
  gen_autofd dest_fd = w.dest_fd;
  if (!done)
    return FALSE;
  if (dest_fd < 0 && (dest_fd = gen_open_dir_at (dfd, dest, error)) < 0)
    return FALSE;
  options->out_parts = parts->len;
  return reset_mtimes (folders, dest_fd, error);
}
