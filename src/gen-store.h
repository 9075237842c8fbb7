/* gen-store.h: the release store, a real ostree repository in gen/repo.
 *
 * A release is an ostree commit with a fixed timestamp and no parent, so the
 * same tree always gives the same checksum.  Its metadata records the release
 * version and the kernel (docs/architecture.md).  This is the only part of
 * the library that needs libostree and libarchive.
 */
#pragma once

#include <gio/gio.h>
#include <ostree.h>

#include "gen-manifest.h"
#include "gen-sysroot.h"

G_BEGIN_DECLS

typedef struct _GenRelease {
  char *checksum;
  char *version;         /* NULL when neither the manifest nor os-release names one */
  char *kernel_version;  /* <kver> of usr/lib/modules/<kver>/vmlinuz */
  char *kernel_id;       /* short id of the kernel and initramfs contents */
  gboolean has_initrd;   /* usr/lib/modules/<kver>/initramfs.img exists */
  guint64 size;          /* bytes of regular files (0 when not recorded) */
  /* A release composed from packages (release.packages; gen-compose.h): */
  guint n_packages;      /* 0 for other releases */
  GStrv scripts_skipped; /* packages whose maintainer scripts were not run, or NULL */
  GStrv setuid_stripped; /* paths whose setuid/setgid bits were removed, or NULL */
  guint n_fetched;       /* packages this run downloaded */
} GenRelease;

/* Commit metadata key holding a release's size in bytes (uint64). */
#define GEN_RELEASE_META_SIZE "gen.size"

void gen_release_free (GenRelease *release);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenRelease, gen_release_free)

typedef struct _GenStore GenStore;
void gen_store_free (GenStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenStore, gen_store_free)

/* Reports progress of long steps: @done of @total items (total 0: unknown). */
typedef void (*GenProgressFunc) (const char *step, guint64 done, guint64 total, gpointer user_data);

/* gen_sysroot_prepare() plus the ostree repository. */
gboolean gen_store_init (const char *path, const char *os, GCancellable *cancellable,
                         GError **error);

GenStore *gen_store_open (GenSysroot *sysroot, GCancellable *cancellable, GError **error);

/* Imports the manifest's release (dir or archive), composes it from
 * packages (gen-compose.h), or resolves its ref.  With
 * @keep FALSE (a dry run) the import stays in an open transaction, readable
 * through gen_store_get_repo(), until gen_store_discard() (or freeing the
 * store) drops it: nothing stays in the store. */
GenRelease *gen_store_import (GenStore *store, GenManifest *manifest, gboolean keep,
                              GenProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error);

/* Commits an import made with @keep FALSE, and sets the ref <os>/release:
 * a switch checks the release before it keeps it.  Nothing for release.ref. */
gboolean gen_store_keep (GenStore *store, GenManifest *manifest, GenRelease *release,
                         GCancellable *cancellable, GError **error);

/* A dry run: caches (downloaded packages) are not written either. */
void gen_store_set_dry_run (GenStore *store, gboolean dry_run);

/* Ends a dry run's transaction, removing everything it wrote. */
gboolean gen_store_discard (GenStore *store);

OstreeRepo *gen_store_get_repo (GenStore *store);

/* Checks the release out once, by hardlinks, at gen/deploy/<checksum>.
 * @out_new tells whether this run made the checkout. */
gboolean gen_store_deploy (GenStore *store, GenRelease *release, gboolean *out_new,
                           GCancellable *cancellable, GError **error);

/* Copies the release's kernel and initramfs to boot/<os>/<kver>-<id>/ once;
 * @out_dir gets that folder relative to DIR/boot. */
gboolean gen_store_install_kernel (GenStore *store, GenRelease *release, const char *os,
                                   char **out_dir, GError **error);

/* Keeps generation @number's release alive in the store (ref gen/generation/N). */
gboolean gen_store_set_generation_ref (GenStore *store, guint number, const char *checksum,
                                       GCancellable *cancellable, GError **error);

/* The refs gen/generation/N that keep each generation's release. */
#define GEN_GENERATION_REF_PREFIX "gen/generation"

/* After a committed switch: prunes a release this run left without a ref
 * (one an earlier failed run imported, say), and removes the mark it wrote
 * (GEN_UNPRUNED_FILE) when there is none.  Cheap unless there is one: reads
 * the refs, not the object folders. */
gboolean gen_store_finish (GenStore *store, guint last, GError **error);

/* Marks the store as maybe holding releases no ref names, before deleting
 * refs (gen gc): the next cleanup then looks for them. */
gboolean gen_store_mark_unpruned (GenStore *store, GError **error);

/* After a prune of everything no ref reaches: removes the mark; TRUE if
 * there was one. */
gboolean gen_store_unmark_unpruned (GenStore *store);

/* Removes what killed or failed runs left in the store: refs of generations
 * above @last or without a folder in gen/generations (a killed gc), ostree
 * staging folders (gen/repo/tmp/staging-*), and release commits no ref names
 * any more.  Those only a scan of every object folder finds: it runs when
 * @thorough, or when the store is marked (GEN_UNPRUNED_FILE: a run that moved
 * or deleted a ref did not finish).  Needs the sysroot lock and no open
 * transaction.  @removed (may be NULL) gets a line per thing removed. */
gboolean gen_store_cleanup (GenStore *store, guint last, gboolean thorough, GPtrArray *removed,
                            GCancellable *cancellable, GError **error);

G_END_DECLS
