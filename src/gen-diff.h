/* gen-diff.h: what changed between two generations — packages, config,
 * release files, kernel and size. */
#pragma once

#include <gio/gio.h>
#include <ostree.h>

#include "gen-render.h"
#include "gen-sysroot.h"

G_BEGIN_DECLS

typedef enum {
  GEN_PACKAGE_ADDED,
  GEN_PACKAGE_REMOVED,
  GEN_PACKAGE_UPGRADED,
  GEN_PACKAGE_DOWNGRADED,
} GenPackageChangeKind;

typedef struct {
  GenPackageChangeKind kind;
  char *name;
  char *arch;
  char *old_version; /* NULL when added */
  char *new_version; /* NULL when removed */
} GenPackageChange;

typedef enum {
  GEN_FILE_ADDED = 'A',
  GEN_FILE_REMOVED = 'D',
  GEN_FILE_MODIFIED = 'M',
} GenFileChangeKind;

typedef struct {
  GenFileChangeKind kind;
  char *path;       /* "/usr/bin/x" */
  gint64 old_size;  /* -1 when absent */
  gint64 new_size;
} GenFileChange;

typedef struct _GenDiff {
  GenGeneration *from;
  GenGeneration *to;
  /* packages: NULL when either release has no package data */
  GPtrArray *packages;      /* GenPackageChange, sorted by name */
  GPtrArray *config;        /* GenOverlayChange, sorted by path */
  GPtrArray *files;         /* GenFileChange, largest change first */
  guint files_added, files_removed, files_modified;
  guint64 size_from, size_to; /* bytes of regular files in each release */
  guint64 size_added;       /* bytes of files the new release adds or changes */
} GenDiff;

void gen_diff_free (GenDiff *diff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenDiff, gen_diff_free)

/* Compares two generations whose releases are in @repo, given their
 * overlays (sorted by path, as gen_render_config/gen_render_read give them).
 * The generations need not be written yet: a dry run compares with what it
 * would write. */
GenDiff *gen_diff_compute (OstreeRepo *repo, GenGeneration *from, GPtrArray *from_overlay,
                           GenGeneration *to, GPtrArray *to_overlay, GCancellable *cancellable,
                           GError **error);

/* Compares generations @from and @to of @sysroot. */
GenDiff *gen_diff_generations (GenSysroot *sysroot, guint from, guint to,
                               GCancellable *cancellable, GError **error);

/* TRUE when nothing differs. */
gboolean gen_diff_is_empty (GenDiff *diff);

G_END_DECLS
