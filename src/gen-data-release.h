/* gen-data-release.h: a release's data declaration and migration steps, read
 * from the store (so a dry run can see them before any checkout). */
#pragma once

#include <ostree.h>

#include "gen-data.h"
#include "gen-manifest.h"

G_BEGIN_DECLS

/* Reads usr/lib/gen/release.json (*@out_decl: NULL when the release has no
 * "data" declaration) and lists usr/lib/gen/migrations/<from>-<to>
 * (*@out_steps: GenDataStep, sorted; names of another form are ignored) of
 * commit @checksum.  Errors are GEN_ERROR_INVALID_RELEASE. */
gboolean gen_data_read_release (OstreeRepo *repo, const char *checksum, GenDataDecl **out_decl,
                                GPtrArray **out_steps, GCancellable *cancellable,
                                GError **error);

/* Sets @g's data (the release's declaration, else the manifest's
 * release.data, else undeclared) and data paths (the manifest's), and gives
 * the release's steps. */
gboolean gen_data_release_fill (OstreeRepo *repo, GenManifest *manifest, GenGeneration *g,
                                GPtrArray **out_steps, GCancellable *cancellable,
                                GError **error);

G_END_DECLS
