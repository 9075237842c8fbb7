/* gen-pull.c: releases from ostree remotes (gen-pull.h). */
#include "gen-pull.h"

#include <string.h>

#include "gen-error.h"

/* Makes the store's remote exactly what @spec declares: removed (with the
 * keys it trusted), added again with the URL and gpg-verify, and given the
 * keys in spec->gpg_keys.  ostree rewrites the repo's config atomically; a
 * crash in between leaves no remote, which the next pull adds again. */
static gboolean
set_remote (OstreeRepo *repo, const GenRemoteSpec *spec, GCancellable *cancellable,
            GError **error)
{
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&options, "{sv}", "gpg-verify", g_variant_new_boolean (spec->gpg_verify));
  g_variant_builder_add (&options, "{sv}", "gpg-verify-summary", g_variant_new_boolean (FALSE));
  g_autoptr (GVariant) opts = g_variant_ref_sink (g_variant_builder_end (&options));
  if (!ostree_repo_remote_change (repo, NULL, OSTREE_REPO_REMOTE_CHANGE_DELETE_IF_EXISTS,
                                  spec->name, NULL, NULL, cancellable, error)
      || !ostree_repo_remote_change (repo, NULL, OSTREE_REPO_REMOTE_CHANGE_ADD, spec->name,
                                     spec->url, opts, cancellable, error))
    {
      g_prefix_error (error, "setting remote '%s': ", spec->name);
      return FALSE;
    }
  if (!spec->gpg_keys)
    return TRUE;

  g_autoptr (GFile) file = g_file_new_for_path (spec->gpg_keys);
  g_autoptr (GFileInputStream) keys = g_file_read (file, cancellable, error);
  guint imported = 0;
  if (!keys
      || !ostree_repo_remote_gpg_import (repo, spec->name, G_INPUT_STREAM (keys), NULL, &imported,
                                         cancellable, error))
    {
      g_prefix_error (error, "remotes.%s.gpg-keys: '%s': ", spec->name, spec->gpg_keys);
      return FALSE;
    }
  if (imported == 0)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "remotes.%s.gpg-keys: '%s' holds no public key", spec->name, spec->gpg_keys);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  GenProgressFunc progress;
  gpointer user_data;
} PullProgress;

static void
on_pull_progress (OstreeAsyncProgress *ap, gpointer user_data)
{
  PullProgress *p = user_data;
  guint fetched = 0, requested = 0;
  ostree_async_progress_get (ap, "fetched", "u", &fetched, "requested", "u", &requested, NULL);
  p->progress ("pulling release", fetched, requested, p->user_data);
}

gboolean
gen_pull_release (OstreeRepo *repo, GenManifest *m, GenProgressFunc progress, gpointer user_data,
                  GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (m->release_remote != NULL, FALSE);
  const char *remote = m->release_remote;
  const char *ref = m->release_source + strlen (remote) + 1;
  const GenRemoteSpec *spec = gen_manifest_find_remote (m, remote);
  if (spec)
    {
      if (!set_remote (repo, spec, cancellable, error))
        return FALSE;
    }
  else
    {
      g_auto (GStrv) known = ostree_repo_remote_list (repo, NULL);
      if (!known || !g_strv_contains ((const char *const *) known, remote))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                       "%s: release.ref: remote '%s' is neither in the manifest's 'remotes' nor "
                       "configured in the store",
                       m->path, remote);
          return FALSE;
        }
    }

  g_autofree char *url = NULL;
  if (!ostree_repo_remote_get_url (repo, remote, &url, error))
    return FALSE;
  const char *refs[] = { ref, NULL };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&options, "{sv}", "refs", g_variant_new_strv (refs, -1));
  g_variant_builder_add (&options, "{sv}", "flags", g_variant_new_int32 (OSTREE_REPO_PULL_FLAGS_NONE));
  g_autoptr (GVariant) opts = g_variant_ref_sink (g_variant_builder_end (&options));
  PullProgress p = { progress, user_data };
  g_autoptr (OstreeAsyncProgress) ap
      = progress ? ostree_async_progress_new_and_connect (on_pull_progress, &p) : NULL;
  if (progress)
    progress ("pulling release", 0, 0, user_data);
  gboolean pulled = ostree_repo_pull_with_options (repo, remote, opts, ap, cancellable, error);
  if (ap)
    ostree_async_progress_finish (ap);
  if (!pulled)
    {
      g_prefix_error (error, "pulling '%s' from %s: ", m->release_source, url);
      return FALSE;
    }
  return TRUE;
}
