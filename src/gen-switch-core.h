/* gen-switch-core.h: the parts of a switch that need no store, and the
 * config-only switch `gen` makes without loading libostree.
 *
 * A config-only switch (same release, other config, kernel args, data paths
 * or boot settings) writes a generation folder, a ref file, a boot entry and
 * gen/state.json: nothing that needs libostree, once the release is proven
 * to be the base generation's.  gen_switch_quick() proves it from what gen
 * itself records (the ref's file in the store, the stat cache of a "dir"
 * release, gen/cache/releases/<checksum>), and otherwise says the store is
 * needed: then gen-store makes the switch, exactly as before.
 */
#pragma once

#include "gen-data.h"
#include "gen-git.h"
#include "gen-manifest.h"
#include "gen-sysroot.h"

G_BEGIN_DECLS

typedef enum {
  GEN_SWITCH_NONE = 0,
  GEN_SWITCH_BOOT_ONLY = 1 << 0, /* make it the boot default only */
  GEN_SWITCH_DRY_RUN = 1 << 1,   /* compute what would change; write nothing */
  GEN_SWITCH_FORCE = 1 << 2,     /* move the data past what a release reads (gen-data.h) */
} GenSwitchFlags;

typedef struct _GenRelease GenRelease; /* gen-store.h */
typedef struct _GenDiff GenDiff;       /* gen-diff.h */
typedef struct _GenSwitchResult GenSwitchResult;

struct _GenSwitchResult {
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
  GenRelease *release;        /* the release the manifest names; NULL from gen_switch_quick */
  void (*free_store_parts) (GenSwitchResult *result); /* frees release and diff (gen-store) */
};

void gen_switch_result_free (GenSwitchResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSwitchResult, gen_switch_result_free)

/* TRUE when generation @old, already written, is what @g would be. */
gboolean gen_switch_generation_matches (GenGeneration *old, GenGeneration *g);

/* The other of current and default (current with @boot_only, else default),
 * when it is not @base and already is what @g would be: a `switch --boot`
 * followed by a `switch` of the same manifest, or the reverse, reuses it
 * rather than making a copy.  @out_same gets it, or NULL when there is none;
 * FALSE only when a record cannot be read. */
gboolean gen_switch_find_other (GenSysroot *sysroot, GenGeneration *g, guint base,
                                gboolean boot_only, GenGeneration **out_same, GError **error);

/* Writes generation @g's folder under gen/tmp (manifest, overlay @files,
 * data-paths, record) and publishes it with one rename.  @git (may be NULL):
 * a query whose answer goes into @g's record, awaited only when the record
 * is made. */
gboolean gen_switch_write_generation (GenSysroot *sysroot, GenGeneration *g, GenManifest *m,
                                      GPtrArray *files, GenGitQuery *git, GError **error);

/* Creates the data folders and runs the plan's migrations (none: TRUE). */
gboolean gen_switch_move_data (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *g,
                               GError **error);

/* The manifest already made generation @same: make it the boot default, and
 * current too unless @boot_only.  Takes @same. */
gboolean gen_switch_reuse (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *same,
                           gboolean boot_only, gboolean dry_run, GError **error);

/* Compares the manifest's rendering with @result->previous and fills the
 * result's flags; TRUE when nothing changed. */
gboolean gen_switch_compare (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *g,
                             GPtrArray *files, GError **error);

/* gen/cache/releases/<checksum>: the version a commit names by itself (its
 * metadata, or os-release for a commit gen did not make), written by
 * gen-store after a switch so that gen_switch_quick() knows the version a
 * manifest without release.version gives.  A commit never changes, so the
 * entry never goes stale; a missing or unreadable one only sends the next
 * switch to gen-store. */
gboolean gen_release_facts_store (int sysroot_dfd, const char *checksum, const char *version,
                                  GError **error);

/* The config-only switch without the store.  Returns the result, or NULL
 * with @error set when the switch fails, or NULL with *@out_needs_store set
 * (nothing written) when it cannot prove the release unchanged or the run
 * needs the store for anything else (a dry run, an interrupted run to clean
 * up, a data migration).  Needs the lock. */
GenSwitchResult *gen_switch_quick (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
                                   gboolean *out_needs_store, GError **error);

G_END_DECLS
