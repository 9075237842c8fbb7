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

/* Frees what only gen-store puts in a result. */
static void
free_store_parts (GenSwitchResult *r)
{
  g_clear_pointer (&r->diff, gen_diff_free);
  g_clear_pointer (&r->release, gen_release_free);
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
  if (flags & GEN_SWITCH_DRY_RUN)
    return TRUE;
  if (!gen_store_keep (store, m, release, cancellable, error))
    return FALSE;
  /* For gen_switch_quick(): the version this commit names by itself.  Only
   * a cache, written once the switch is allowed and before its commit point;
   * failing to write it fails nothing. */
  g_autoptr (GError) facts_error = NULL;
  if (!m->release_version
      && !gen_release_facts_store (sysroot->dfd, release->checksum, release->version,
                                   &facts_error))
    g_debug ("recording release %s: %s", release->checksum, facts_error->message);
  return TRUE;
}

/* After a switch: the release an earlier failed run imported is no longer
 * named by <os>/release once this run moved the ref; remove it now rather
 * than keep it for ever.  The switch has committed: a failure here only
 * leaves the release (and the store's mark) for the next run's cleanup. */
static void
prune_after_commit (GenStore *store, GenSysroot *sysroot)
{
  g_autoptr (GError) local_error = NULL;
  if (!gen_store_finish (store, sysroot->last, &local_error))
    g_debug ("cleaning up the store after the switch: %s", local_error->message);
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
  gen_propagate_no_space (error, g_steal_pointer (&local_error), sysroot->path);
  return r;
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
  result->free_store_parts = free_store_parts;
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
          || !gen_store_cleanup (store, sysroot->last, FALSE, NULL, cancellable, error))
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
  g->config_digest = gen_render_digest (files);
  g_autoptr (GPtrArray) steps = NULL;
  if (!gen_data_release_fill (gen_store_get_repo (store), m, g, &steps, cancellable, error))
    return NULL;
  g->boot_loader = g_strdup (m->boot_loader);
  g->boot_limit = m->boot_limit;

  GenGeneration *prev = result->previous;
  gboolean unchanged = gen_switch_compare (sysroot, result, g, files, error);
  if (!result->config_changes)
    return NULL;
  if (unchanged)
    {
      /* Unchanged: no new generation.  It may still need to become default/current. */
      if (!check_data (sysroot, store, m, release, result, prev, steps, flags, cancellable, error)
          || !gen_switch_reuse (sysroot, result, g_steal_pointer (&result->previous), boot_only,
                             dry_run, error))
        return NULL;
      if (!dry_run)
        prune_after_commit (store, sysroot);
      return g_steal_pointer (&result);
    }
  g_autoptr (GenGeneration) same = NULL;
  if (!gen_switch_find_other (sysroot, g, base, boot_only, &same, error))
    return NULL;
  if (same)
    {
      if (!check_data (sysroot, store, m, release, result, same, steps, flags, cancellable, error)
          || !gen_switch_reuse (sysroot, result, g_steal_pointer (&same), boot_only, dry_run,
                                error))
        return NULL;
      if (!dry_run)
        prune_after_commit (store, sysroot);
      return g_steal_pointer (&result);
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
          g_autoptr (GPtrArray) prev_files = gen_render_read_generation (sysroot->dfd, prev->number, error);
          if (!prev_files)
            return NULL;
          result->diff = gen_diff_compute (gen_store_get_repo (store), prev, prev_files, g, files,
                                           cancellable, error);
          if (!result->diff)
            return NULL;
        }
      result->generation = g_steal_pointer (&g);
      return g_steal_pointer (&result);
    }

  /* The manifest's git revision is only recorded, never compared: git runs
   * beside the checkout and the kernel. */
  g_autoptr (GenGitQuery) git = gen_git_query_start (m->dir);
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
  if (!gen_switch_move_data (sysroot, result, g, error))
    return NULL;
  if (progress)
    progress ("writing generation", 0, 0, user_data);
  if (!gen_switch_write_generation (sysroot, g, m, files, git, error)
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
