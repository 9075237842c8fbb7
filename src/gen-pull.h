/* gen-pull.h: releases from ostree remotes, for release.ref "REMOTE:REF".
 *
 * The manifest's `remotes` section is the whole truth about a remote it
 * declares: before each pull gen-pull.c sets the store's remote (URL,
 * gpg-verify) and its trusted keys from it.  A remote the manifest does not
 * declare must have been configured in the store (`ostree remote add
 * --repo=DIR/gen/repo`), and is used as it is. */
#pragma once

#include <ostree.h>

#include "gen-manifest.h"
#include "gen-store.h"

G_BEGIN_DECLS

/* Pulls @manifest's release.ref (which names a remote) into @repo, so that
 * the ref "REMOTE:REF" resolves to the remote's newest commit.  Refuses a
 * commit whose signature the remote's keys do not verify. */
gboolean gen_pull_release (OstreeRepo *repo, GenManifest *manifest, GenProgressFunc progress,
                           gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
