/* gen-parts.c: a tree cut into parts, and threads to work on them (see
 * gen-parts.h). */
#include "gen-parts.h"

/* A part weighs at most 1/PARTS_PER_THREAD of one thread's share, so that
 * threads that take the largest parts first end together. */
#define PARTS_PER_THREAD 4
/* A lighter subtree stays in the first pass: a call by subpath reads the
 * folders above it again. */
#define MIN_PART_WEIGHT 8

static void
folder_clear (gpointer data)
{
  g_free (((GenPartsFolder *) data)->path);
}

GArray *
gen_parts_folders_new (void)
{
  GArray *folders = g_array_new (FALSE, FALSE, sizeof (GenPartsFolder));
  g_array_set_clear_func (folders, folder_clear);
  return folders;
}

guint
gen_parts_threads (guint threads)
{
  return MIN (threads ? threads : g_get_num_processors (), GEN_PARTS_MAX_THREADS);
}

static gint
compare_weight_desc (gconstpointer a, gconstpointer b)
{
  const GenPartsFolder *fa = *(GenPartsFolder *const *) a, *fb = *(GenPartsFolder *const *) b;
  return fa->weight < fb->weight ? 1 : fa->weight > fb->weight ? -1 : 0;
}

/* The heaviest a part may be, for @threads threads. */
static guint64
part_limit (GArray *folders, guint threads)
{
  return MAX (g_array_index (folders, GenPartsFolder, 0).weight / (threads * PARTS_PER_THREAD), 1);
}

GPtrArray *
gen_parts_choose (GArray *folders, guint threads, guint64 min_weight)
{
  GPtrArray *parts = g_ptr_array_new ();
  if (folders->len == 0 || threads < 2)
    return parts;
  GenPartsFolder *top = &g_array_index (folders, GenPartsFolder, 0);
  if (top->weight < min_weight)
    return parts;
  guint64 limit = part_limit (folders, threads);
  top->split = top->weight > limit && top->splittable;
  for (guint i = 1; i < folders->len; i++)
    {
      GenPartsFolder *f = &g_array_index (folders, GenPartsFolder, i);
      if (!g_array_index (folders, GenPartsFolder, f->parent).split)
        continue;
      if (f->weight > limit && f->splittable)
        f->split = TRUE;
      else if (f->weight >= MIN_PART_WEIGHT)
        g_ptr_array_add (parts, f);
    }
  g_ptr_array_sort (parts, compare_weight_desc);
  return parts;
}

/* Only a folder right below a split one is looked at, and one is split
 * only when it is heavier than the part limit, which is lowest for the
 * most threads. */
gboolean
gen_parts_folder_matters (GArray *folders, guint i)
{
  if (i == 0)
    return TRUE;
  guint parent = g_array_index (folders, GenPartsFolder, i).parent;
  return g_array_index (folders, GenPartsFolder, parent).weight
         > part_limit (folders, GEN_PARTS_MAX_THREADS);
}

GHashTable *
gen_parts_paths (GPtrArray *parts)
{
  GHashTable *paths = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < parts->len; i++)
    {
      GenPartsFolder *part = parts->pdata[i];
      g_hash_table_insert (paths, part->path, part);
    }
  return paths;
}

typedef enum
{
  WAITING,
  RELEASED,
  TAKEN
} PartState;

struct _GenPartsRun
{
  GPtrArray *parts;
  const GenPartsWork *work;
  gpointer user_data;
  PartState *states; /* per part; under lock */
  guint first_left;  /* the first part not taken yet; under lock */
  GMutex lock;
  GCond changed; /* a part released, the first pass over, or an error */
  GError *error; /* the first; under lock */
};

static void
fail (GenPartsRun *r, GError *error)
{
  g_mutex_lock (&r->lock);
  if (!r->error)
    r->error = error;
  else
    g_error_free (error);
  g_cond_broadcast (&r->changed);
  g_mutex_unlock (&r->lock);
}

void
gen_parts_release (GenPartsRun *run, GenPartsFolder *part)
{
  g_mutex_lock (&run->lock);
  for (guint i = run->first_left; i < run->parts->len; i++)
    if (run->parts->pdata[i] == part)
      {
        if (run->states[i] == WAITING)
          {
            run->states[i] = RELEASED;
            g_cond_signal (&run->changed);
          }
        break;
      }
  g_mutex_unlock (&run->lock);
}

static void
release_all (GenPartsRun *r)
{
  g_mutex_lock (&r->lock);
  for (guint i = r->first_left; i < r->parts->len; i++)
    if (r->states[i] == WAITING)
      r->states[i] = RELEASED;
  g_cond_broadcast (&r->changed);
  g_mutex_unlock (&r->lock);
}

/* The largest part released and not taken, taken; NULL when none is left
 * or after an error.  Waits while parts are left but none is released. */
static GenPartsFolder *
take_next (GenPartsRun *r)
{
  GenPartsFolder *part = NULL;
  g_mutex_lock (&r->lock);
  while (!r->error && r->first_left < r->parts->len)
    {
      for (guint i = r->first_left; i < r->parts->len && !part; i++)
        if (r->states[i] == RELEASED)
          {
            r->states[i] = TAKEN;
            part = r->parts->pdata[i];
          }
      while (r->first_left < r->parts->len && r->states[r->first_left] == TAKEN)
        r->first_left++;
      if (part)
        break;
      g_cond_wait (&r->changed, &r->lock);
    }
  g_mutex_unlock (&r->lock);
  return part;
}

static gpointer
helper_main (gpointer data)
{
  GenPartsRun *r = data;
  gpointer thread_data = NULL;
  if (r->work->begin)
    {
      GError *error = NULL;
      thread_data = r->work->begin (r->user_data, &error);
      if (!thread_data)
        {
          fail (r, error);
          return NULL;
        }
    }
  GenPartsFolder *part;
  while ((part = take_next (r)))
    {
      GError *error = NULL;
      if (!r->work->func (r->user_data, thread_data, part, &error))
        {
          fail (r, error);
          break;
        }
    }
  if (thread_data && r->work->end)
    r->work->end (thread_data);
  return NULL;
}

gboolean
gen_parts_run (GPtrArray *parts, guint threads, const GenPartsWork *work, gpointer user_data,
               GError **error)
{
  GenPartsRun r = { parts, work, user_data, g_new0 (PartState, parts->len), 0 };
  g_mutex_init (&r.lock);
  g_cond_init (&r.changed);
  if (!work->gated)
    release_all (&r);
  g_autoptr (GPtrArray) helpers = g_ptr_array_new ();
  for (guint i = 0; i + 1 < threads && i < parts->len; i++)
    {
      GThread *t = g_thread_try_new ("gen-parts", helper_main, &r, NULL);
      if (!t)
        break; /* fewer threads: the parts are still all taken */
      g_ptr_array_add (helpers, t);
    }
  GError *first_error = NULL;
  if (work->first && !work->first (user_data, &r, &first_error))
    fail (&r, first_error);
  release_all (&r);
  helper_main (&r);
  for (guint i = 0; i < helpers->len; i++)
    g_thread_join (helpers->pdata[i]);
  g_cond_clear (&r.changed);
  g_mutex_clear (&r.lock);
  g_free (r.states);
  if (r.error)
    {
      g_propagate_error (error, r.error);
      return FALSE;
    }
  return TRUE;
}
