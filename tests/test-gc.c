/* Unit tests for gen gc's choice of what to keep (src/gen-gc.c); the whole
 * run, on a real store, is tests/e2e/test-gc.sh and tests/crash. */
#include "gen-gc.h"

static GPtrArray *
generations (guint n)
{
  GPtrArray *gens = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_generation_free);
  /* Out of order on purpose: the plan sorts. */
  for (guint i = n; i >= 1; i--)
    {
      GenGeneration *g = gen_generation_new ();
      g->number = i * 2; /* 2, 4, …: numbers with gaps, as after an earlier gc */
      g_ptr_array_add (gens, g);
    }
  return gens;
}

static char *
text (GArray *a)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < a->len; i++)
    g_string_append_printf (s, "%s%u", i ? " " : "", g_array_index (a, guint, i));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
check (guint current, guint default_gen, guint booted, const guint *pinned, guint keep,
       const char *want)
{
  g_autoptr (GPtrArray) gens = generations (6);
  g_autoptr (GArray) kept = gen_gc_plan (gens, current, default_gen, booted, pinned, keep);
  g_autofree char *got = text (kept);
  g_assert_cmpstr (got, ==, want);
}

static void
test_plan (void)
{
  /* The newest N. */
  check (12, 12, 0, NULL, 2, "10 12");
  check (12, 12, 0, NULL, 100, "2 4 6 8 10 12");
  /* Current, default, booted and pinned whatever their age. */
  check (4, 12, 0, NULL, 1, "4 12");
  check (12, 12, 6, NULL, 1, "6 12");
  guint pins[] = { 2, 8, 99, 0 };
  check (12, 12, 0, pins, 1, "2 8 12");
  /* --keep 0: only those. */
  check (4, 6, 2, pins, 0, "2 4 6 8");
  /* A booted generation unknown to this sysroot changes nothing. */
  check (12, 12, 7, NULL, 0, "12");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gc/plan", test_plan);
  return g_test_run ();
}
