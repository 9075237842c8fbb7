#include "gen-switch.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-boot.h"
#include "gen-data-release.h"
#include "gen-crash.h"
#include "gen-error.h"
#include "gen-git.h"
#include "gen-render.h"
#include "gen-util.h"

void
gen_switch_result_free (GenSwitchResult *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->generation, gen_generation_free);
  g_clear_pointer (&r->previous, gen_generation_free);
  g_clear_pointer (&r->config_changes, g_ptr_array_unref);
  g_clear_pointer (&r->diff, gen_diff_free);
  g_clear_pointer (&r->data, gen_data_plan_free);
  g_clear_pointer (&r->release, gen_release_free);
  g_free (r);
}

/* TRUE when generation @old, already written, is what @g would be. */
static gboolean
generation_matches (GenGeneration *old, GenGeneration *g)
{
  return g_str_equal (old->release_checksum, g->release_checksum)
         && g_strv_equal ((const char *const *) old->kernel_args,
                          (const char *const *) g->kernel_args)
         && old->config_digest && g_str_equal (old->config_digest, g->config_digest)
         && gen_data_decl_equal (old->data, g->data)
         && g_strv_equal ((const char *const *) old->data_paths,
                          (const char *const *) g->data_paths)
         && gen_generation_boot_equal (old, g);
}

/* Before anything is written: may @target run on the data, after which
 * migrations; then keep the import.  Reusing the current or the default
 * generation moves no data: a switch or rollback checked it already. */
static gboolean
check_data (GenSysroot *sysroot, GenStore *store, GenManifest *m, GenRelease *release,
            GenSwitchResult *result, GenGeneration *target, GPtrArray *steps, GenSwitchFlags flags,
            GCancellable *cancellable, GError **error)
{
  if (target->number != sysroot->current && target->number != sysroot->default_gen)
    {
      result->data = gen_data_plan (sysroot, target, steps, "switch",
                                    (flags & GEN_SWITCH_FORCE) != 0, error);
      if (!result->data)
        return FALSE;
    }
  return (flags & GEN_SWITCH_DRY_RUN) || gen_store_keep (store, m, release, cancellable, error);
}

/* Creates the data folders and runs the plan's migrations. */
static gboolean
move_data (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *g, GError **error)
{
  return !result->data
         || (gen_data_prepare_paths (sysroot, g->data_paths, error)
             && gen_data_migrate (sysroot, result->data, g->data_paths, g->number, error));
}

/* After a switch: the release an earlier failed run imported is no longer
 * named by <os>/release once this run moved the ref; remove it now rather
 * than keep it for ever.  The switch has committed: a failure here only
 * leaves the release for the next run's cleanup. */
static void
prune_after_commit (GenStore *store, GenSysroot *sysroot)
{
  g_autoptr (GError) local_error = NULL;
  if (!gen_store_cleanup (store, sysroot->last, NULL, NULL, &local_error))
    g_debug ("cleaning up the store after the switch: %s", local_error->message);
}

/* The manifest already made generation @same: no new generation; make it
 * the boot default, and current too unless @boot_only. */
static gboolean
reuse_generation (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *same,
                  gboolean boot_only, gboolean dry_run, GError **error)
{
  guint current = boot_only ? sysroot->current : same->number;
  result->activated = sysroot->default_gen != same->number || sysroot->current != current;
  result->generation = same;
  if (result->activated && !dry_run
      && (!move_data (sysroot, result, same, error)
          || (result->data && !gen_data_commit (sysroot, result->data, error))
          || !gen_sysroot_commit_state (sysroot, same->os, current, same->number, sysroot->last,
                                        error)))
    return FALSE;
  return TRUE;
}

static char *
generation_dir (guint number)
{
  return g_strdup_printf (GEN_GENERATIONS_DIR "/%u", number);
}

/* Writes the generation folder under gen/tmp and publishes it with one rename. */
static gboolean
write_generation (GenSysroot *sysroot, GenGeneration *g, GenManifest *m, GPtrArray *files,
                  GError **error)
{
  g_autofree char *tmp = g_strdup_printf (GEN_TMP_DIR "/generation-%u", g->number);
  g_autofree char *final = generation_dir (g->number);
  if (!gen_rm_rf_at (sysroot->dfd, tmp, error))
    return FALSE;
  GEN_CRASH_POINT ("before mkdir", tmp);
  if (mkdirat (sysroot->dfd, tmp, 0755) < 0)
    return gen_throw_errno (error, "creating '%s'", tmp);

  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autofree char *record = g_strconcat (json, "\n", NULL);
  g_autofree char *record_path = g_build_filename (tmp, "generation.json", NULL);
  g_autofree char *manifest_path = g_build_filename (tmp, "manifest.json", NULL);
  g_autofree char *etc_path = g_build_filename (tmp, "etc", NULL);
  gsize mlen;
  const void *mdata = g_bytes_get_data (m->bytes, &mlen);
  if (!gen_write_new_file_at (sysroot->dfd, manifest_path, mdata, mlen, 0644, error)
      || !gen_render_write (files, sysroot->dfd, etc_path, error)
      || !gen_data_write_paths_file (sysroot, tmp, g->data_paths, error)
      || !gen_write_new_file_at (sysroot->dfd, record_path, record, strlen (record), 0644, error))
    return FALSE;
  GEN_CRASH_POINT ("before syncing the generation folder", tmp);
  /* Each file was fsync'd as written, and gen_render_write synced the
   * overlay's folders; the generation's own folder remains. */
  if (!gen_fsync_dir_at (sysroot->dfd, tmp, error))
    return FALSE;
  return gen_rename_at (sysroot->dfd, tmp, final, error);
}

static GenSwitchResult *
switch_generation (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
                   GenProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                   GError **error);

GenSwitchResult *
gen_switch (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags, GenProgressFunc progress,
            gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GenSwitchResult *r = switch_generation (sysroot, m, flags, progress, user_data, cancellable,
                                          &local_error);
  if (r)
    return r;
  /* A full disk shows up deep in a step ("…: Writing content object:
   * min-free-space-percent '3%' would be exceeded"): say it first. */
  if (gen_error_is_no_space (local_error))
    g_prefix_error (&local_error, "no space left in '%s': ", sysroot->path);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

static GenSwitchResult *
switch_generation (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
                   GenProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                   GError **error)
{
  gboolean dry_run = (flags & GEN_SWITCH_DRY_RUN) != 0;
  gboolean boot_only = (flags & GEN_SWITCH_BOOT_ONLY) != 0;
  if (sysroot->os && !g_str_equal (sysroot->os, m->os))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "%s: os: '%s' does not match this sysroot's OS '%s'", m->path, m->os,
                   sysroot->os);
      return NULL;
    }

  /* Everything that reads input comes before the first write. */
  g_autoptr (GPtrArray) files = gen_render_config (m, error);
  if (!files)
    return NULL;
  g_autoptr (GenSwitchResult) result = g_new0 (GenSwitchResult, 1);
  guint base = boot_only ? sysroot->default_gen : sysroot->current;
  if (base > 0)
    {
      result->previous = gen_sysroot_load_generation (sysroot, base, error);
      if (!result->previous)
        return NULL;
    }

  g_autoptr (GenStore) store = gen_store_open (sysroot, cancellable, error);
  if (!store)
    return NULL;
  if (!dry_run)
    {
      if (!gen_sysroot_cleanup (sysroot, NULL, error)
          || !gen_store_cleanup (store, sysroot->last, NULL, cancellable, error))
        {
          g_prefix_error (error, "cleaning up after an earlier run: ");
          return NULL;
        }
    }
  gen_store_set_dry_run (store, dry_run);
  /* Kept (gen_store_keep) only once the data checks pass; the result owns it. */
  GenRelease *release = result->release
      = gen_store_import (store, m, FALSE, progress, user_data, cancellable, error);
  if (!release)
    return NULL;

  g_autoptr (GenGeneration) g = gen_generation_new ();
  g->number = sysroot->last + 1;
  g->date = gen_iso8601_now ();
  g->os = g_strdup (m->os);
  g->release_checksum = g_strdup (release->checksum);
  g->release_version = g_strdup (release->version);
  g->release_packages = release->n_packages;
  g->kernel_version = g_strdup (release->kernel_version);
  g->has_initrd = release->has_initrd;
  g->kernel_args = g_strdupv (m->kernel_args);
  g->manifest_path = g_canonicalize_filename (m->path, NULL);
  gen_git_describe (m->dir, &g->manifest_revision, &g->manifest_dirty);
  g->config_digest = gen_render_digest (files);
  g_autoptr (GPtrArray) steps = NULL;
  if (!gen_data_release_fill (gen_store_get_repo (store), m, g, &steps, cancellable, error))
    return NULL;
  g->boot_loader = g_strdup (m->boot_loader);
  g->boot_limit = m->boot_limit;

  GenGeneration *prev = result->previous;
  g_autoptr (GPtrArray) prev_files = prev ? gen_render_read_generation (sysroot->dfd, prev->number, error)
                                          : g_ptr_array_new ();
  if (!prev_files)
    return NULL;
  result->config_changes = gen_render_compare (prev_files, files);
  result->new_release = !prev || !g_str_equal (prev->release_checksum, g->release_checksum);
  result->args_changed = prev ? !g_strv_equal ((const char *const *) prev->kernel_args,
                                               (const char *const *) g->kernel_args)
                              : g->kernel_args[0] != NULL;
  g_autofree char *deploy = gen_sysroot_deploy_path (release->checksum);
  result->new_checkout = !gen_exists_at (sysroot->dfd, deploy);
  result->data_changed = prev && !(gen_data_decl_equal (prev->data, g->data)
                                   && g_strv_equal ((const char *const *) prev->data_paths,
                                                    (const char *const *) g->data_paths));

  result->boot_changed = prev && !gen_generation_boot_equal (prev, g);
  if (prev && !result->new_release && !result->args_changed && result->config_changes->len == 0
      && g_strcmp0 (prev->config_digest, g->config_digest) == 0 && !result->data_changed
      && !result->boot_changed)
    {
      /* Unchanged: no new generation.  It may still need to become default/current. */
      if (!check_data (sysroot, store, m, release, result, prev, steps, flags, cancellable, error)
          || !reuse_generation (sysroot, result, g_steal_pointer (&result->previous), boot_only,
                             dry_run, error))
        return NULL;
      if (!dry_run)
        prune_after_commit (store, sysroot);
      return g_steal_pointer (&result);
    }
  /* The other of current and default may match: a `switch --boot` followed by
   * a `switch` of the same manifest, or the reverse.  Reuse it, not a copy. */
  guint other = boot_only ? sysroot->current : sysroot->default_gen;
  if (other > 0 && other != base)
    {
      g_autoptr (GenGeneration) same = gen_sysroot_load_generation (sysroot, other, error);
      if (!same)
        return NULL;
      if (generation_matches (same, g))
        {
          if (!check_data (sysroot, store, m, release, result, same, steps, flags, cancellable,
                           error)
              || !reuse_generation (sysroot, result, g_steal_pointer (&same), boot_only, dry_run,
                                 error))
            return NULL;
          if (!dry_run)
            prune_after_commit (store, sysroot);
          return g_steal_pointer (&result);
        }
    }

  result->created = TRUE;
  result->activated = TRUE;
  if (!check_data (sysroot, store, m, release, result, g, steps, flags, cancellable, error))
    return NULL;
  if (dry_run)
    {
      /* The release is still in the store's open transaction: compare with it. */
      if (prev)
        {
          result->diff = gen_diff_compute (gen_store_get_repo (store), prev, prev_files, g, files,
                                           cancellable, error);
          if (!result->diff)
            return NULL;
        }
      result->generation = g_steal_pointer (&g);
      return g_steal_pointer (&result);
    }

  gboolean made_checkout;
  if (progress)
    progress ("checking out release", 0, 0, user_data);
  if (!gen_store_deploy (store, release, &made_checkout, cancellable, error))
    return NULL;
  if (progress)
    progress ("installing kernel", 0, 0, user_data);
  if (!gen_store_install_kernel (store, release, m->os, &g->kernel_dir, error))
    return NULL;
  if (result->data && result->data->steps->len > 0 && progress)
    progress ("migrating data", 0, 0, user_data);
  if (!move_data (sysroot, result, g, error))
    return NULL;
  if (progress)
    progress ("writing generation", 0, 0, user_data);
  if (!write_generation (sysroot, g, m, files, error)
      || !gen_store_set_generation_ref (store, g->number, g->release_checksum, cancellable, error)
      || !gen_boot_write_pending_entry (sysroot, g, boot_only ? sysroot->current : g->number,
                                        error))
    {
      g_prefix_error (error, "writing generation %u: ", g->number);
      return NULL;
    }
  /* The commit point: everything above is complete and synced. */
  guint current = boot_only ? sysroot->current : g->number;
  if (!gen_data_commit (sysroot, result->data, error))
    return NULL;
  if (!gen_sysroot_commit_state (sysroot, m->os, current, g->number, g->number, error))
    return NULL;
  prune_after_commit (store, sysroot);
  result->generation = g_steal_pointer (&g);
  return g_steal_pointer (&result);
}
