/* gen-crash.h: numbered crash points, for the crash tests only.
 *
 * Built with `meson setup -Dcrash_points=true`, every GEN_CRASH_POINT()
 * that a run passes gets the next number, from 1.  The environment picks
 * what happens at run time:
 *
 *   GEN_CRASH_AT=K     the process kills itself (SIGKILL) at point K, as a
 *                      power cut or an OOM kill would stop it: no cleanup,
 *                      no atexit handlers
 *   GEN_CRASH_COUNT=1  each point is printed on stderr as it passes
 *                      ("gen: crash point K: WHAT PATH"), and the total at
 *                      exit ("gen: crash points: N")
 *
 * Points sit before and after every write, fsync and rename that switch,
 * rollback, pin and gc make (src/gen-util.c, the steps in gen-switch.c,
 * gen-store.c, gen-gc.c and gen-statcache.c).
 * In a normal build the macro is empty and gen-crash.c is not compiled:
 * nothing of this is in the binary.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#ifdef GEN_CRASH_POINTS
void gen_crash_point (const char *what, const char *path);
#define GEN_CRASH_POINT(what, path) gen_crash_point ((what), (path))
#else
#define GEN_CRASH_POINT(what, path) ((void) 0)
#endif

G_END_DECLS
