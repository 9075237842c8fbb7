/* gen-checkout.c: a hardlink checkout by libostree, cut into parts that
 * threads check out side by side (see gen-checkout.h). */
#include "gen-checkout.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-error.h"
#include "gen-util.h"

#define DEFAULT_MIN_ENTRIES 2000
#define MAX_THREADS 4
/* A part holds at most 1/PARTS_PER_THREAD of one thread's share of the
 * entries (files and folders), so that threads that take the largest parts
 * first end together. */
#define PARTS_PER_THREAD 4
/* A subtree with fewer entries stays in the first pass: checking it out by
 * subpath reads the commit and the folders above it again. */
#define MIN_PART_ENTRIES 8

typedef struct
{
  char *path;      /* "/usr/share/": as ostree's checkout filter names a folder */
  guint parent;    /* index of the folder above (the root's is its own, 0) */
  guint64 entries; /* files and folders, itself included, all the way down */
  guint32 mode;
  gboolean split; /* checked out in the first pass, with parts below it */
} Folder;

static void
folder_clear (gpointer data)
{
  g_free (((Folder *) data)->path);
}

typedef struct
{
  OstreeRepo *repo;
  GArray *folders;   /* of Folder, each after the folder above it */
  GHashTable *modes; /* dirmeta checksum -> mode, as few differ */
} Plan;

static gboolean
folder_mode (Plan *p, const char *meta, guint32 *out_mode, GError **error)
{
  gpointer mode;
  if (g_hash_table_lookup_extended (p->modes, meta, NULL, &mode))
    {
      *out_mode = GPOINTER_TO_UINT (mode);
      return TRUE;
    }
  g_autoptr (GVariant) v = NULL;
  if (!ostree_repo_load_variant (p->repo, OSTREE_OBJECT_TYPE_DIR_META, meta, &v, error))
    return FALSE;
  guint32 be_mode;
  g_variant_get (v, "(uuu@a(ayay))", NULL, NULL, &be_mode, NULL);
  *out_mode = GUINT32_FROM_BE (be_mode);
  g_hash_table_insert (p->modes, g_strdup (meta), GUINT_TO_POINTER (*out_mode));
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

/* Adds the folder @path (dirtree @tree, dirmeta @meta) and everything below
 * it to the plan; *@out_entries: its entries, all the way down (a folder
 * costs a mkdir and more, a file a link). */
static gboolean
read_folder (Plan *p, const char *tree, const char *meta, const char *path, guint parent,
             guint64 *out_entries, GError **error)
{
  g_autoptr (GVariant) v = NULL;
  Folder f = { NULL, parent, 0, 0, FALSE };
  if (!ostree_repo_load_variant (p->repo, OSTREE_OBJECT_TYPE_DIR_TREE, tree, &v, error)
      || !folder_mode (p, meta, &f.mode, error))
    return FALSE;
  guint self = p->folders->len;
  f.path = g_strdup (path);
  g_array_append_val (p->folders, f);

  g_autoptr (GVariant) files = g_variant_get_child_value (v, 0);
  g_autoptr (GVariant) dirs = g_variant_get_child_value (v, 1);
  guint64 n = 1 + g_variant_n_children (files);
  for (gsize i = 0; i < g_variant_n_children (dirs); i++)
    {
      const char *name;
      g_autoptr (GVariant) tree_v = NULL;
      g_autoptr (GVariant) meta_v = NULL;
      g_variant_get_child (dirs, i, "(&s@ay@ay)", &name, &tree_v, &meta_v);
      /* A part's path becomes a path on disk: no name may climb out. */
      if (!*name || strchr (name, '/') || g_str_equal (name, ".") || g_str_equal (name, ".."))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "invalid folder name '%s' in '%s'", name,
                       path);
          return FALSE;
        }
      char sub_tree[OSTREE_SHA256_STRING_LEN + 1];
      char sub_meta[OSTREE_SHA256_STRING_LEN + 1];
      if (!checksum_of (tree_v, sub_tree, error) || !checksum_of (meta_v, sub_meta, error))
        return FALSE;
      g_autofree char *sub_path = g_strconcat (path, name, "/", NULL);
      guint64 sub_entries = 0;
      if (!read_folder (p, sub_tree, sub_meta, sub_path, self, &sub_entries, error))
        return FALSE;
      n += sub_entries;
    }
  g_array_index (p->folders, Folder, self).entries = n;
  *out_entries = n;
  return TRUE;
}

static gint
compare_size_desc (gconstpointer a, gconstpointer b)
{
  const Folder *fa = *(Folder *const *) a, *fb = *(Folder *const *) b;
  return fa->entries < fb->entries ? 1 : fa->entries > fb->entries ? -1 : 0;
}

/* Whether the first pass may give @f its final mode with parts still to be
 * made in it: its owner can write to it, and nobody else can (ostree keeps a
 * folder 0700 until its content is made, so that no one adds to it). */
static gboolean
can_split (const Folder *f)
{
  return (f->mode & 0300) == 0300 && (f->mode & 0022) == 0;
}

/* The parts: under folders split (too large for one part, and ones
 * can_split()), each subtree of at most @limit entries, or not splittable;
 * largest first. */
static GPtrArray *
choose_parts (GArray *folders, guint64 limit)
{
  GPtrArray *parts = g_ptr_array_new ();
  Folder *root = &g_array_index (folders, Folder, 0);
  root->split = root->entries > limit && can_split (root);
  for (guint i = 1; i < folders->len; i++)
    {
      Folder *f = &g_array_index (folders, Folder, i);
      if (!g_array_index (folders, Folder, f->parent).split)
        continue;
      if (f->entries > limit && can_split (f))

        f->split = TRUE;
      else if (f->entries >= MIN_PART_ENTRIES)
        g_ptr_array_add (parts, f);
    }
  g_ptr_array_sort (parts, compare_size_desc);
  return parts;
}

/* The first pass leaves the parts out.  ostree names a folder with a
 * trailing slash; one without is looked up with it. */
static OstreeRepoCheckoutFilterResult
skip_parts (OstreeRepo *repo, const char *path, struct stat *st, gpointer user_data)
{
  GHashTable *parts = user_data;
  if (!S_ISDIR (st->st_mode))
    return OSTREE_REPO_CHECKOUT_FILTER_ALLOW;
  gboolean found;
  if (g_str_has_suffix (path, "/"))
    found = g_hash_table_contains (parts, path);
  else
    {
      g_autofree char *slashed = g_strconcat (path, "/", NULL);
      found = g_hash_table_contains (parts, slashed);
    }
  return found ? OSTREE_REPO_CHECKOUT_FILTER_SKIP : OSTREE_REPO_CHECKOUT_FILTER_ALLOW;
}

typedef struct
{
  OstreeRepo *repo;
  const OstreeRepoCheckoutAtOptions *options;
  int dfd;
  const char *dest;
  const char *commit;
  GPtrArray *parts; /* of Folder *, largest first */
  gint next;        /* the next part to take */
  GMutex lock;
  GError *error; /* the first; under lock */
  GCancellable *cancellable;
} Work;

static void
fail (Work *w, GError *error)
{
  g_mutex_lock (&w->lock);
  if (!w->error)
    w->error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&w->lock);
}

static gboolean
failed (Work *w)
{
  g_mutex_lock (&w->lock);
  gboolean f = w->error != NULL;
  g_mutex_unlock (&w->lock);
  return f;
}

static void
check_out_parts (Work *w, OstreeRepo *repo)
{
  for (;;)
    {
      gint i = g_atomic_int_add (&w->next, 1);
      if (i >= (gint) w->parts->len || failed (w))
        return;
      const Folder *f = w->parts->pdata[i];
      g_autofree char *subpath = g_strndup (f->path, strlen (f->path) - 1);
      g_autofree char *target = g_strconcat (w->dest, subpath, NULL);
      OstreeRepoCheckoutAtOptions options = *w->options;
      options.subpath = subpath;
      GError *error = NULL;
      if (!ostree_repo_checkout_at (repo, &options, w->dfd, target, w->commit, w->cancellable,
                                    &error))
        {
          g_prefix_error (&error, "%s: ", subpath);
          fail (w, error);
          return;
        }
    }
}

/* A helper thread opens the repository for itself: OstreeRepo does not
 * promise that calls from two threads at once are safe.  By its fd, which
 * only reads a field (ostree_repo_get_path() of a repository opened by fd
 * sets one, and names it through /proc). */
static gpointer
helper_main (gpointer data)
{
  Work *w = data;
  GError *error = NULL;
  g_autoptr (OstreeRepo) repo
      = ostree_repo_open_at (ostree_repo_get_dfd (w->repo), ".", w->cancellable, &error);
  if (!repo)
    {
      fail (w, error);
      return NULL;
    }
  check_out_parts (w, repo);
  return NULL;
}

/* ostree gives each folder the mtime OSTREE_TIMESTAMP once its content is
 * made; a split folder's parts were made after that. */
static gboolean
reset_mtimes (GArray *folders, int dfd, const char *dest, GError **error)
{
  const struct timespec times[2] = { { 0, UTIME_OMIT }, { OSTREE_TIMESTAMP, 0 } };
  for (guint i = 0; i < folders->len; i++)
    {
      const Folder *f = &g_array_index (folders, Folder, i);
      if (!f->split)
        continue;
      g_autofree char *path = g_strconcat (dest, f->path, NULL);
      if (utimensat (dfd, path, times, AT_SYMLINK_NOFOLLOW) < 0)
        return gen_throw_errno (error, "setting the mtime of '%s'", path);
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
  OstreeRepoCheckoutAtOptions co = { 0 };
  if (ostree_repo_get_mode (repo) != OSTREE_REPO_MODE_BARE)
    {
      co.mode = OSTREE_REPO_CHECKOUT_MODE_USER;
      co.bareuseronly_dirs = TRUE;
    }
  guint threads = options->threads ? options->threads : MIN (g_get_num_processors (), MAX_THREADS);
  guint min_entries = options->min_entries ? options->min_entries : DEFAULT_MIN_ENTRIES;
  if (threads < 2)
    return ostree_repo_checkout_at (repo, &co, dfd, dest, commit, cancellable, error);

  /* The plan: every folder and how many entries are below it, from the
   * dirtree objects alone (a few ms for a whole OS). */
  g_autoptr (GVariant) commit_v = NULL;
  if (!ostree_repo_load_variant (repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &commit_v, error))
    return FALSE;
  g_autoptr (GVariant) tree_v = g_variant_get_child_value (commit_v, 6);
  g_autoptr (GVariant) meta_v = g_variant_get_child_value (commit_v, 7);
  char tree[OSTREE_SHA256_STRING_LEN + 1], meta[OSTREE_SHA256_STRING_LEN + 1];
  if (!checksum_of (tree_v, tree, error) || !checksum_of (meta_v, meta, error))
    return FALSE;
  g_autoptr (GArray) folders = g_array_new (FALSE, FALSE, sizeof (Folder));
  g_array_set_clear_func (folders, folder_clear);
  g_autoptr (GHashTable) modes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Plan plan = { repo, folders, modes };
  guint64 total = 0;
  if (!read_folder (&plan, tree, meta, "/", 0, &total, error))
    return FALSE;
  g_autoptr (GPtrArray) parts
      = total >= min_entries ? choose_parts (folders, MAX (total / (threads * PARTS_PER_THREAD), 1))
                             : g_ptr_array_new ();
  if (parts->len == 0)
    return ostree_repo_checkout_at (repo, &co, dfd, dest, commit, cancellable, error);

  g_autoptr (GHashTable) skip = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < parts->len; i++)
    g_hash_table_add (skip, ((Folder *) parts->pdata[i])->path);
  OstreeRepoCheckoutAtOptions first = co;
  first.filter = skip_parts;
  first.filter_user_data = skip;
  if (!ostree_repo_checkout_at (repo, &first, dfd, dest, commit, cancellable, error))
    return FALSE;

  Work w = { repo, &co, dfd, dest, commit, parts, 0, { 0 }, NULL, cancellable };
  g_mutex_init (&w.lock);
  g_autoptr (GPtrArray) helpers = g_ptr_array_new ();
  for (guint i = 1; i < threads && i < parts->len; i++)
    {
      GThread *t = g_thread_try_new ("gen-checkout", helper_main, &w, NULL);
      if (!t)
        break; /* fewer threads: the parts are still all taken */
      g_ptr_array_add (helpers, t);
    }
  check_out_parts (&w, repo);
  for (guint i = 0; i < helpers->len; i++)
    g_thread_join (helpers->pdata[i]);
  g_mutex_clear (&w.lock);
  if (w.error)
    {
      g_propagate_error (error, w.error);
      return FALSE;
    }
  options->out_parts = parts->len;
  return reset_mtimes (folders, dfd, dest, error);
}
