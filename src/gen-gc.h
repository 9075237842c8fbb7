/* gen-gc.h: removing old generations and what only they used (`gen gc`).
 *
 * Kept: the current, default and booted generation, pinned ones
 * (gen-pin.h), and the newest @keep.  For every other generation, in this
 * order (docs/architecture.md, "gen gc"): the boot menus are rewritten
 * without it; its folder gen/generations/N is renamed into gen/tmp and
 * removed; its ref gen/generation/N is deleted; the checkouts
 * gen/deploy/<checksum> and kernel folders boot/<os>/<kver>-<id> no kept
 * generation uses are removed (renamed aside first); the store is pruned
 * (objects no ref reaches); stat cache entries naming a commit that is gone
 * are removed.  A kill at any point leaves the default generation complete
 * and every generation listed complete; the next run's cleanup
 * (gen_sysroot_cleanup, gen_store_cleanup) finishes what was started.
 */
#pragma once

#include "gen-store.h"

G_BEGIN_DECLS

/* Generations gc keeps besides the protected ones, when neither --keep nor
 * the default generation's boot.limit says (gen-gc(1) explains the choice). */
#define GEN_GC_DEFAULT_KEEP 5

typedef struct
{
  guint keep;           /* the newest this many were kept */
  GArray *kept;         /* guint: the generations kept, ascending */
  GArray *removed;      /* guint: the generations removed (a dry run: to remove), ascending */
  GPtrArray *paths;     /* char *: checkouts, kernel folders, cache entries removed */
  GPtrArray *releases;  /* char *: release commits no ref names any more */
  GPtrArray *leftovers; /* char *: what an interrupted run left, removed first */
  guint objects;        /* store objects pruned */
  guint64 bytes;        /* bytes freed (a dry run: that would be) */
} GenGcResult;

void gen_gc_result_free (GenGcResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenGcResult, gen_gc_result_free)

/* Which of @generations (GenGeneration) gc keeps: @current, @default_gen,
 * @booted (0: none), every number in @pinned (0-terminated, may be NULL),
 * and the newest @keep.  Ascending numbers. */
GArray *gen_gc_plan (GPtrArray *generations, guint current, guint default_gen, guint booted,
                     const guint *pinned, guint keep);

/* Removes old generations as above.  @keep < 0: the default generation's
 * boot.limit, or GEN_GC_DEFAULT_KEEP without one.  With @dry_run nothing
 * is written; the result says what would go.  Needs the lock. */
GenGcResult *gen_gc (GenSysroot *sysroot, gint keep, gboolean dry_run, GenProgressFunc progress,
                     gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
