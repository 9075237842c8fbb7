/* Unit tests for src/gen-parts.c: which subtrees become parts, and the
 * threads that take them. */
#include <string.h>

#include "gen-error.h"
#include "gen-parts.h"

static guint
add (GArray *folders, const char *path, guint parent, guint64 weight, gboolean splittable)
{
  GenPartsFolder f = { g_strdup (path), parent, weight, splittable, FALSE };
  g_array_append_val (folders, f);
  return folders->len - 1;
}

/* / (100) holds a (60) and b (30, not splittable) and c (5); a holds a1
 * (30, not splittable), a2 (10) and a3 (5).  With 2 threads a part weighs
 * at most 100 / 8 = 12, but one that cannot be split is a part anyway. */
static GArray *
tree (void)
{
  GArray *folders = gen_parts_folders_new ();
  add (folders, "/", 0, 100, TRUE);
  guint a = add (folders, "/a", 0, 60, TRUE);
  add (folders, "/a/a1", a, 30, FALSE);
  add (folders, "/a/a2", a, 10, TRUE);
  add (folders, "/a/a3", a, 5, TRUE);
  add (folders, "/b", 0, 30, FALSE);
  add (folders, "/c", 0, 5, TRUE);
  return folders;
}

static void
test_choose (void)
{
  g_autoptr (GArray) folders = tree ();
  g_autoptr (GPtrArray) parts = gen_parts_choose (folders, 2, 50);
  g_assert_cmpuint (parts->len, ==, 3);
  const GenPartsFolder *first = parts->pdata[0], *second = parts->pdata[1];
  const GenPartsFolder *third = parts->pdata[2];
  /* Largest first; a3 and c are too light to be parts of their own. */
  g_assert_cmpuint (first->weight, ==, 30);
  g_assert_cmpuint (second->weight, ==, 30);
  g_assert_cmpstr (third->path, ==, "/a/a2");
  g_assert_true (g_str_equal (first->path, "/a/a1") || g_str_equal (first->path, "/b"));
  g_assert_true (g_array_index (folders, GenPartsFolder, 0).split);
  g_assert_true (g_array_index (folders, GenPartsFolder, 1).split);
  for (guint i = 2; i < folders->len; i++)
    g_assert_false (g_array_index (folders, GenPartsFolder, i).split);
}

/* Too light a tree, or one thread: no parts. */
static void
test_choose_none (void)
{
  g_autoptr (GArray) light = tree ();
  g_autoptr (GPtrArray) none = gen_parts_choose (light, 2, 101);
  g_assert_cmpuint (none->len, ==, 0);
  g_autoptr (GArray) one = tree ();
  g_autoptr (GPtrArray) alone = gen_parts_choose (one, 1, 0);
  g_assert_cmpuint (alone->len, ==, 0);
}

/* A tree of 600 folders, each below a random earlier one (a fixed seed),
 * with 0 to 40 files of its own; weights as the checkout's plan gives them. */
static GArray *
random_tree (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  GArray *folders = gen_parts_folders_new ();
  add (folders, "/", 0, 1, TRUE);
  for (guint i = 1; i < 600; i++)
    {
      guint parent = g_rand_int_range (rand, 0, i);
      g_autofree char *path = g_strdup_printf (
          "%s%u/", g_array_index (folders, GenPartsFolder, parent).path, i);
      add (folders, path, parent, 1 + g_rand_int_range (rand, 0, 41),
           g_rand_int_range (rand, 0, 8) != 0);
    }
  for (guint i = folders->len - 1; i > 0; i--)
    {
      GenPartsFolder *f = &g_array_index (folders, GenPartsFolder, i);
      g_array_index (folders, GenPartsFolder, f->parent).weight += f->weight;
    }
  return folders;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* @parts' paths, sorted. */
static GPtrArray *
part_paths (GPtrArray *parts)
{
  GPtrArray *paths = g_ptr_array_new ();
  for (guint i = 0; i < parts->len; i++)
    g_ptr_array_add (paths, ((GenPartsFolder *) parts->pdata[i])->path);
  g_ptr_array_sort (paths, compare_paths);
  return paths;
}

/* The folders that matter (a release's metadata keeps only them) give the
 * parts the whole tree gives, for every number of threads up to the most. */
static void
test_folder_matters (void)
{
  g_autoptr (GArray) all = random_tree ();
  g_autoptr (GArray) kept = gen_parts_folders_new ();
  g_autofree guint *index = g_new0 (guint, all->len);
  for (guint i = 0; i < all->len; i++)
    {
      if (!gen_parts_folder_matters (all, i))
        continue;
      const GenPartsFolder *f = &g_array_index (all, GenPartsFolder, i);
      /* The folder above was kept before it. */
      g_assert_true (gen_parts_folder_matters (all, f->parent));
      index[i] = add (kept, f->path, index[f->parent], f->weight, f->splittable);
    }
  g_assert_cmpuint (kept->len, <, all->len / 2);
  for (guint threads = 2; threads <= GEN_PARTS_MAX_THREADS; threads++)
    {
      g_autoptr (GPtrArray) from_all = gen_parts_choose (all, threads, 0);
      g_autoptr (GPtrArray) from_kept = gen_parts_choose (kept, threads, 0);
      g_assert_cmpuint (from_all->len, >, 8);
      g_autoptr (GPtrArray) a = part_paths (from_all);
      g_autoptr (GPtrArray) b = part_paths (from_kept);
      g_assert_cmpuint (a->len, ==, b->len);
      for (guint i = 0; i < a->len; i++)
        g_assert_cmpstr (a->pdata[i], ==, b->pdata[i]);
    }
}

typedef struct
{
  gint done[64]; /* times each part was done */
  gint first;    /* times the first pass ran */
  gint begun, ended;
  gint fail_at; /* this part fails (-1: none) */
  GPtrArray *parts;
  gint released[64]; /* gated: released by the first pass, or it returned (-1) */
  gint first_over;
  gboolean first_fails;
} Count;

static gboolean
first_pass (gpointer user_data, GenPartsRun *run, GError **error)
{
  g_atomic_int_inc (&((Count *) user_data)->first);
  return TRUE;
}

static gint
done_count (Count *c, guint from, guint step)
{
  gint n = 0;
  for (guint i = from; i < 64; i += step)
    n += g_atomic_int_get (&c->done[i]);
  return n;
}

/* Releases the even parts, waits until they are done, then checks that no
 * odd part was taken before it returns. */
static gboolean
first_pass_gated (gpointer user_data, GenPartsRun *run, GError **error)
{
  Count *c = user_data;
  g_atomic_int_inc (&c->first);
  for (guint i = 0; i < 64; i += 2)
    {
      g_atomic_int_set (&c->released[i], 1);
      gen_parts_release (run, c->parts->pdata[i]);
    }
  gen_parts_release (run, c->parts->pdata[0]); /* twice: no harm */
  while (done_count (c, 0, 2) < 32)
    g_usleep (1000);
  g_assert_cmpint (done_count (c, 1, 2), ==, 0);
  g_atomic_int_set (&c->first_over, 1);
  if (c->first_fails)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "the first pass failed");
      return FALSE;
    }
  return TRUE;
}

static gpointer
begin (gpointer user_data, GError **error)
{
  Count *c = user_data;
  g_atomic_int_inc (&c->begun);
  return c;
}

static void
end (gpointer thread_data)
{
  g_atomic_int_inc (&((Count *) thread_data)->ended);
}

static gboolean
do_part (gpointer user_data, gpointer thread_data, const GenPartsFolder *part, GError **error)
{
  Count *c = user_data;
  g_assert_true (thread_data == NULL || thread_data == c);
  gint i = (gint) part->weight;
  if (c->parts)
    g_assert_true (g_atomic_int_get (&c->released[i]) || g_atomic_int_get (&c->first_over));
  g_atomic_int_inc (&c->done[i]);
  if (i == c->fail_at)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "part %d failed", i);
      return FALSE;
    }
  return TRUE;
}

/* 64 parts, their weight their number. */
static GPtrArray *
parts (GArray *folders)
{
  GPtrArray *parts = g_ptr_array_new ();
  for (guint i = 0; i < 64; i++)
    add (folders, "/p", 0, i, FALSE);
  for (guint i = 0; i < 64; i++)
    g_ptr_array_add (parts, &g_array_index (folders, GenPartsFolder, i));
  return parts;
}

/* Every part once, the first pass once, begin and end on every thread;
 * @gated: with first_pass_gated(), which checks that no part is taken
 * before its release. */
static void
run_all (gboolean gated)
{
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  g_autoptr (GPtrArray) all = parts (folders);
  Count c = { .fail_at = -1, .parts = gated ? all : NULL };
  const GenPartsWork work = { gated ? first_pass_gated : first_pass, gated, begin, end, do_part };
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_parts_run (all, 4, &work, &c, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 64; i++)
    g_assert_cmpint (c.done[i], ==, 1);
  g_assert_cmpint (c.first, ==, 1);
  g_assert_cmpint (c.begun, ==, 4);
  g_assert_cmpint (c.ended, ==, 4);
}

static void
test_run (void)
{
  run_all (FALSE);
}

/* The first error is returned; no part is taken after it. */
static void
test_run_fails (void)
{
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  g_autoptr (GPtrArray) all = parts (folders);
  Count c = { .fail_at = 5 };
  const GenPartsWork work = { NULL, FALSE, NULL, NULL, do_part };
  g_autoptr (GError) error = NULL;
  g_assert_false (gen_parts_run (all, 1, &work, &c, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "part 5 failed");
  for (guint i = 0; i < 64; i++)
    g_assert_cmpint (c.done[i], ==, i <= 5 ? 1 : 0);
}

/* Gated: a part is taken only once the first pass released it or returned. */
static void
test_run_gated (void)
{
  run_all (TRUE);
}

/* Gated, and the first pass fails: its error is returned, and the parts it
 * did not release are not taken. */
static void
test_run_gated_first_fails (void)
{
  g_autoptr (GArray) folders = gen_parts_folders_new ();
  g_autoptr (GPtrArray) all = parts (folders);
  Count c = { .fail_at = -1, .parts = all, .first_fails = TRUE };
  const GenPartsWork work = { first_pass_gated, TRUE, begin, end, do_part };
  g_autoptr (GError) error = NULL;
  g_assert_false (gen_parts_run (all, 2, &work, &c, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "the first pass failed");
  g_assert_cmpint (done_count (&c, 0, 2), ==, 32);
  g_assert_cmpint (done_count (&c, 1, 2), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parts/choose", test_choose);
  g_test_add_func ("/parts/choose-none", test_choose_none);
  g_test_add_func ("/parts/folder-matters", test_folder_matters);
  g_test_add_func ("/parts/run", test_run);
  g_test_add_func ("/parts/run-fails", test_run_fails);
  g_test_add_func ("/parts/run-gated", test_run_gated);
  g_test_add_func ("/parts/run-gated-first-fails", test_run_gated_first_fails);
  return g_test_run ();
}
