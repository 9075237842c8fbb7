/* gen-fsck.h: checking a sysroot, and the safe repairs (gen fsck).
 *
 * The checks (docs/gen-fsck.1 has the list): the store (every object of
 * every commit a ref names, as `ostree fsck` does), the state, every
 * committed generation's record, manifest, overlay, release checkout,
 * kernel and boot entry, the boot menu against the generation list, and
 * that the pointer and the boot default name complete generations.
 * Leftovers of interrupted runs are problems too, the repairable kind.
 *
 * Nothing here prints: problems come back as a list.
 */
#pragma once

#include "gen-store.h"

G_BEGIN_DECLS

typedef enum {
  GEN_FSCK_NONE = 0,
  GEN_FSCK_REPAIR = 1 << 0, /* do the safe repairs first, then check */
} GenFsckFlags;

typedef struct {
  char *path;          /* what is wrong, relative to the sysroot */
  char *message;       /* how */
  gboolean repairable; /* `gen fsck --repair` fixes it */
} GenFsckProblem;

typedef struct {
  GPtrArray *problems;  /* GenFsckProblem, in the order found */
  GPtrArray *repairs;   /* char *: what --repair did, one line each */
  guint generations;    /* committed generations checked */
  guint releases;       /* release checkouts compared with their commit */
  guint objects;        /* store objects verified */
} GenFsckResult;

void gen_fsck_result_free (GenFsckResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenFsckResult, gen_fsck_result_free)

/* Checks @sysroot, after the safe repairs when @flags has GEN_FSCK_REPAIR:
 * removing what interrupted runs left (gen_sysroot_cleanup,
 * gen_store_cleanup), writing missing or wrong boot entries of complete
 * generations, removing entries of generations that do not exist,
 * rewriting loader.conf to name the default generation when it is
 * complete, and setting missing refs gen/generation/N.  Needs the lock.
 * Returns NULL only when the check itself could not run. */
GenFsckResult *gen_fsck (GenSysroot *sysroot, GenFsckFlags flags, GCancellable *cancellable,
                         GError **error);

G_END_DECLS
