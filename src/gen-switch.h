/* gen-switch.h: turning a manifest into a generation, and activating it. */
#pragma once

#include "gen-data.h"
#include "gen-diff.h"
#include "gen-store.h"

G_BEGIN_DECLS

typedef enum {
  GEN_SWITCH_NONE = 0,
  GEN_SWITCH_BOOT_ONLY = 1 << 0, /* make it the boot default only */
  GEN_SWITCH_DRY_RUN = 1 << 1,   /* compute what would change; write nothing */
  GEN_SWITCH_FORCE = 1 << 2,     /* move the data past what a release reads (gen-data.h) */
} GenSwitchFlags;

typedef struct {
  GenGeneration *generation;  /* the new generation, or for an unchanged manifest the existing one */
  GenGeneration *previous;    /* what it was compared with (current; default with --boot), or NULL */
  gboolean created;           /* a new generation was (or, dry run, would be) written */
  gboolean activated;         /* the pointer or the boot default moved */
  gboolean new_release;       /* its release differs from the previous one's */
  gboolean new_checkout;      /* its release was (or would be) checked out by this run */
  gboolean args_changed;
  gboolean boot_changed;      /* its boot.loader or boot.limit differ from the previous one's */
  GPtrArray *config_changes;  /* GenOverlayChange, sorted by path */
  GenDiff *diff;              /* dry run only: the full comparison with previous */
  gboolean data_changed;      /* its data schema, reads or paths differ from previous's */
  GenDataPlan *data;          /* the data's move and migrations; NULL when current stays */
  GenRelease *release;        /* the release the manifest names */
} GenSwitchResult;

void gen_switch_result_free (GenSwitchResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSwitchResult, gen_switch_result_free)

/* Needs the sysroot's lock. */
GenSwitchResult *gen_switch (GenSysroot *sysroot, GenManifest *manifest, GenSwitchFlags flags,
                             GenProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, GError **error);

G_END_DECLS
