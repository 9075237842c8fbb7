/* gen-crash.c: the crash points of gen-crash.h (built with -Dcrash_points=true). */
#include "gen-crash.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static guint64 passed;
static guint64 crash_at;     /* 0: never */
static gboolean print_points;

static void
print_total (void)
{
  fprintf (stderr, "gen: crash points: %" G_GUINT64_FORMAT "\n", passed);
}

static void
init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  const char *at = g_getenv ("GEN_CRASH_AT");
  if (at && !g_ascii_string_to_unsigned (at, 10, 1, G_MAXUINT64, &crash_at, NULL))
    crash_at = 0;
  print_points = g_getenv ("GEN_CRASH_COUNT") != NULL;
  if (print_points)
    atexit (print_total);
  g_once_init_leave (&done, 1);
}

void
gen_crash_point (const char *what, const char *path)
{
  init ();
  passed++;
  if (print_points)
    fprintf (stderr, "gen: crash point %" G_GUINT64_FORMAT ": %s %s\n", passed, what,
             path ? path : "");
  if (passed == crash_at)
    {
      raise (SIGKILL);
      _exit (137); /* not reached */
    }
}
