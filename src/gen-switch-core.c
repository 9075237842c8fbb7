/* gen-switch-core.c: the store-free parts of a switch, and the config-only
 * switch `gen` makes itself (gen-switch-core.h). */
#include "gen-switch-core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-activate.h"
#include "gen-boot.h"
#include "gen-crash.h"
#include "gen-error.h"
#include "gen-git.h"
#include "gen-render.h"
#include "gen-statcache.h"
#include "gen-watch.h"
#include "gen-util.h"

#define RELEASES_CACHE_DIR "gen/cache/releases"
/* The store's paths this file reads and writes (as ostree lays them out). */
#define REPO_REFS_DIR GEN_REPO_DIR "/refs/heads"
#define GENERATION_REFS_DIR REPO_REFS_DIR "/gen/generation"

void
gen_switch_result_free (GenSwitchResult *r)
{
  if (!r)
    return;
  if (r->free_store_parts)
    r->free_store_parts (r);
  g_clear_pointer (&r->generation, gen_generation_free);
  g_clear_pointer (&r->previous, gen_generation_free);
  g_clear_pointer (&r->config_changes, g_ptr_array_unref);
  g_clear_pointer (&r->data, gen_data_plan_free);
  g_free (r);
}

gboolean
gen_switch_generation_matches (GenGeneration *old, GenGeneration *g)
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

gboolean
gen_switch_find_other (GenSysroot *sysroot, GenGeneration *g, guint base, gboolean boot_only,
                       GenGeneration **out_same, GError **error)
{
  *out_same = NULL;
  guint other = boot_only ? sysroot->current : sysroot->default_gen;
  if (other == 0 || other == base)
    return TRUE;
  g_autoptr (GenGeneration) same = gen_sysroot_load_generation (sysroot, other, error);
  if (!same)
    return FALSE;
  if (gen_switch_generation_matches (same, g))
    *out_same = g_steal_pointer (&same);
  return TRUE;
}

gboolean
gen_switch_move_data (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *g,
                      GError **error)
{
  return !result->data
         || (gen_data_prepare_paths (sysroot, g->data_paths, error)
             && gen_data_migrate (sysroot, result->data, g->data_paths, g->number, error));
}

gboolean
gen_switch_reuse (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *same,
                  gboolean boot_only, gboolean dry_run, GError **error)
{
  guint current = boot_only ? sysroot->current : same->number;
  result->activated = sysroot->default_gen != same->number || sysroot->current != current;
  result->generation = same;
  if (result->activated && !dry_run
      && (!gen_switch_move_data (sysroot, result, same, error)
          || (result->data && !gen_data_commit (sysroot, result->data, error))
          || !gen_sysroot_commit_state (sysroot, same->os, current, same->number, sysroot->last,
                                        error)))
    return FALSE;
  /* Nothing to commit: what the run learnt (folders found clean, menu files
   * read again) is still kept, or every later no-op would learn it again. */
  if (!result->activated && !dry_run)
    gen_sysroot_save_index (sysroot);
  return TRUE;
}

gboolean
gen_switch_write_generation (GenSysroot *sysroot, GenGeneration *g, GenManifest *m,
                             GPtrArray *files, GenGitQuery *git, GError **error)
{
  g_autofree char *tmp = g_strdup_printf (GEN_TMP_DIR "/generation-%u", g->number);
  g_autofree char *final = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", g->number);
  if (!gen_rm_rf_at (sysroot->dfd, tmp, error))
    return FALSE;
  GEN_CRASH_POINT ("before mkdir", tmp);
  if (mkdirat (sysroot->dfd, tmp, 0755) < 0)
    return gen_throw_errno (error, "creating '%s'", tmp);

  g_autofree char *manifest_path = g_build_filename (tmp, "manifest.json", NULL);
  g_autofree char *etc_path = g_build_filename (tmp, "etc", NULL);
  gsize mlen;
  const void *mdata = g_bytes_get_data (m->bytes, &mlen);
  if (!gen_write_new_file_at (sysroot->dfd, manifest_path, mdata, mlen, 0644, error)
      || !gen_render_write (files, sysroot->dfd, etc_path, error)
      || !gen_data_write_paths_file (sysroot, tmp, g->data_paths, error))
    return FALSE;
  /* The record last: git ran while the files above were written and synced. */
  if (git)
    gen_git_query_finish (git, &g->manifest_revision, &g->manifest_dirty);
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autofree char *record = g_strconcat (json, "\n", NULL);
  g_autofree char *record_path = g_build_filename (tmp, "generation.json", NULL);
  if (!gen_write_new_file_at (sysroot->dfd, record_path, record, strlen (record), 0644, error))
    return FALSE;
  GEN_CRASH_POINT ("before syncing the generation folder", tmp);
  /* Each file was fsync'd as written, and gen_render_write synced the
   * overlay's folders; the generation's own folder remains. */
  if (!gen_fsync_dir_at (sysroot->dfd, tmp, error))
    return FALSE;
  return gen_rename_at (sysroot->dfd, tmp, final, error);
}

gboolean
gen_switch_compare (GenSysroot *sysroot, GenSwitchResult *result, GenGeneration *g,
                    GPtrArray *files, GError **error)
{
  GenGeneration *prev = result->previous;
  g_autoptr (GPtrArray) prev_files = prev ? gen_render_read_generation (sysroot->dfd, prev->number,
                                                                        error)
                                          : g_ptr_array_new ();
  if (!prev_files)
    return FALSE;
  result->config_changes = gen_render_compare (prev_files, files);
  result->new_release = !prev || !g_str_equal (prev->release_checksum, g->release_checksum);
  result->args_changed = prev ? !g_strv_equal ((const char *const *) prev->kernel_args,
                                               (const char *const *) g->kernel_args)
                              : g->kernel_args[0] != NULL;
  g_autofree char *deploy = gen_sysroot_deploy_path (g->release_checksum);
  result->new_checkout = !gen_exists_at (sysroot->dfd, deploy);
  result->data_changed = prev && !(gen_data_decl_equal (prev->data, g->data)
                                   && g_strv_equal ((const char *const *) prev->data_paths,
                                                    (const char *const *) g->data_paths));
  result->boot_changed = prev && !gen_generation_boot_equal (prev, g);
  return prev && !result->new_release && !result->args_changed && result->config_changes->len == 0
         && g_strcmp0 (prev->config_digest, g->config_digest) == 0 && !result->data_changed
         && !result->boot_changed;
}

/* --- what gen records about releases ---------------------------------------- */

gboolean
gen_release_facts_store (int dfd, const char *checksum, const char *version, GError **error)
{
  g_autofree char *path = g_build_filename (RELEASES_CACHE_DIR, checksum, NULL);
  g_autofree char *text = version ? g_strdup_printf ("version %s\n", version)
                                  : g_strdup ("no version\n");
  g_autofree char *old = gen_read_file_at (dfd, path, NULL, NULL);
  if (old && g_str_equal (old, text))
    return TRUE;
  /* A cache, so not fsync'd (two flushes fewer before the checkout): after
   * a crash the entry is whole, missing or empty, and
   * release_facts_version() takes only a whole one. */
  struct iovec part = { text, strlen (text) };
  return gen_mkdir_p_at (dfd, RELEASES_CACHE_DIR, 0755, error)
         && gen_write_cache_file_at (dfd, path, &part, 1, 0644, error);
}

/* The version commit @checksum names by itself, as recorded: TRUE and
 * *@out_version (NULL for none) when known. */
static gboolean
release_facts_version (int dfd, const char *checksum, char **out_version)
{
  g_autofree char *path = g_build_filename (RELEASES_CACHE_DIR, checksum, NULL);
  g_autofree char *text = gen_read_file_at (dfd, path, NULL, NULL);
  if (!text || !g_str_has_suffix (text, "\n"))
    return FALSE;
  text[strlen (text) - 1] = '\0';
  if (g_str_equal (text, "no version"))
    {
      *out_version = NULL;
      return TRUE;
    }
  if (!g_str_has_prefix (text, "version ") || strchr (text, '\n'))
    return FALSE;
  *out_version = g_strdup (text + strlen ("version "));
  return TRUE;
}

/* The commit a local ref names, read from its file in the store as ostree
 * keeps it (refs/heads/<name>: the checksum and a newline); NULL when the
 * name is not a plain local ref or the file does not say one checksum. */
static char *
read_ref (GenSysroot *s, const char *name)
{
  if (!name || !*name || strchr (name, ':') || strstr (name, "..") || name[0] == '/'
      || g_str_has_suffix (name, "/"))
    return NULL;
  g_autofree char *path = g_build_filename (REPO_REFS_DIR, name, NULL);
  g_autofree char *text = gen_read_file_at (s->dfd, path, NULL, NULL);
  if (!text)
    return NULL;
  g_strstrip (text);
  return gen_is_checksum (text) ? g_steal_pointer (&text) : NULL;
}

/* ostree's number for the store's mode (part of the stat cache key), or -1
 * for a mode gen does not make. */
static int
repo_mode (GenSysroot *s)
{
  g_autofree char *text = gen_read_file_at (s->dfd, GEN_REPO_DIR "/config", NULL, NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  if (!text || !g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL))
    return -1;
  g_autofree char *mode = g_key_file_get_string (kf, "core", "mode", NULL);
  if (g_strcmp0 (mode, "bare") == 0)
    return 0; /* OSTREE_REPO_MODE_BARE */
  if (g_strcmp0 (mode, "bare-user-only") == 0)
    return 3; /* OSTREE_REPO_MODE_BARE_USER_ONLY */
  return -1;
}

/* The commit the manifest's release is, when that can be told without the
 * store and is @expected: from the ref's file (release.ref), or the stat
 * cache (release.dir) with the commit still in the store and <os>/release
 * already naming it (gen-store would move it there).  FALSE: unknown. */
static gboolean
release_is (GenSysroot *s, GenManifest *m, const char *expected)
{
  if (m->release_kind == GEN_RELEASE_REF)
    {
      if (gen_is_checksum (m->release_source))
        return g_str_equal (m->release_source, expected);
      g_autofree char *target = read_ref (s, m->release_source);
      return target && g_str_equal (target, expected);
    }
  if (m->release_kind != GEN_RELEASE_DIR)
    return FALSE;
  int mode = repo_mode (s);
  if (mode < 0)
    return FALSE;
  g_autofree char *release_ref = g_strdup_printf ("%s/release", m->os);
  g_autofree char *named = read_ref (s, release_ref);
  if (!named || !g_str_equal (named, expected))
    return FALSE;
  g_autofree char *object = g_strdup_printf (GEN_REPO_DIR "/objects/%.2s/%s.commit", expected,
                                             expected + 2);
  if (!gen_exists_at (s->dfd, object))
    return FALSE;
  /* As gen_store_import() keys it. */
  g_autofree char *extra
      = g_strdup_printf ("%s\n%d", m->release_version ? m->release_version : "", mode);
  g_autofree char *key = gen_statcache_key (m->release_source, extra);
  gboolean racy = TRUE;
  g_autofree char *digest = gen_watch_or_walk (s->dfd, m->release_source, &racy, NULL);
  g_autofree char *cached = digest ? gen_statcache_lookup (s->dfd, key, digest) : NULL;
  return cached && g_str_equal (cached, expected);
}

/* Leftovers of an interrupted run that only gen-store cleans: a staging
 * folder of the store, a generation ref above `last`, or the mark of a
 * release that may have lost its last ref. */
static gboolean
store_needs_cleanup (GenSysroot *s)
{
  g_autofree char *ref = g_strdup_printf (GENERATION_REFS_DIR "/%u", s->last + 1);
  if (gen_exists_at (s->dfd, ref) || gen_exists_at (s->dfd, GEN_UNPRUNED_FILE))
    return TRUE;
  int fd = openat (s->dfd, GEN_REPO_DIR "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno != ENOENT;
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return TRUE;
    }
  gboolean found = FALSE;
  struct dirent *de;
  while (!found && (de = readdir (d)) != NULL)
    found = g_str_has_prefix (de->d_name, "staging-");
  closedir (d);
  return found;
}

/* The ref gen/generation/N that keeps generation N's release in the store,
 * written as ostree writes a ref (the checksum and a newline), through
 * gen/tmp so that a killed run never leaves a temporary name among the refs;
 * then the folders, as gen_store_set_generation_ref() syncs them. */
static gboolean
set_generation_ref (GenSysroot *s, guint number, const char *checksum, GError **error)
{
  g_autofree char *ref = g_strdup_printf ("gen/generation/%u", number);
  g_autofree char *path = g_strdup_printf (GENERATION_REFS_DIR "/%u", number);
  g_autofree char *tmp = g_strdup_printf (GEN_TMP_DIR "/ref-generation-%u", number);
  g_autofree char *text = g_strconcat (checksum, "\n", NULL);
  gboolean new_dirs = !gen_exists_at (s->dfd, GENERATION_REFS_DIR);
  if (!gen_rm_rf_at (s->dfd, tmp, error)
      || !gen_mkdir_p_at (s->dfd, GENERATION_REFS_DIR, 0755, error))
    return FALSE;
  GEN_CRASH_POINT ("before setting ref", ref);
  if (!gen_write_new_file_at (s->dfd, tmp, text, strlen (text), 0644, error)
      || !gen_rename_at (s->dfd, tmp, path, error))
    return FALSE;
  GEN_CRASH_POINT ("after setting ref", ref);
  return !new_dirs
         || (gen_fsync_dir_at (s->dfd, REPO_REFS_DIR "/gen", error)
             && gen_fsync_dir_at (s->dfd, REPO_REFS_DIR, error));
}

static GenSwitchResult *
switch_quick (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
              gboolean *out_needs_store, GError **error);

GenSwitchResult *
gen_switch_quick (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
                  gboolean *out_needs_store, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GenSwitchResult *r = switch_quick (sysroot, m, flags, out_needs_store, &local_error);
  gen_propagate_no_space (error, g_steal_pointer (&local_error), sysroot->path);
  return r;
}

static GenSwitchResult *
switch_quick (GenSysroot *sysroot, GenManifest *m, GenSwitchFlags flags,
              gboolean *out_needs_store, GError **error)
{
  gboolean boot_only = (flags & GEN_SWITCH_BOOT_ONLY) != 0;
  *out_needs_store = TRUE;
  if (flags & GEN_SWITCH_DRY_RUN)
    return NULL; /* its diff reads the store */
  guint base = boot_only ? sysroot->default_gen : sysroot->current;
  if (base == 0 || (sysroot->os && !g_str_equal (sysroot->os, m->os)))
    return NULL; /* the first generation; or gen-store's error for the wrong OS */

  g_autoptr (GenGeneration) prev = gen_sysroot_load_generation (sysroot, base, NULL);
  if (!prev || !gen_generation_check_complete (sysroot, prev, NULL)
      || !release_is (sysroot, m, prev->release_checksum))
    return NULL;
  /* The version gen-store would give: the manifest's, else the commit's own. */
  g_autofree char *version = g_strdup (m->release_version);
  if (!version && !release_facts_version (sysroot->dfd, prev->release_checksum, &version))
    return NULL;
  if (g_strcmp0 (version, prev->release_version) != 0)
    return NULL;
  /* The data: the release's own declaration is the base's when the base's
   * came from the release (BY_RELEASE); otherwise the release has none. */
  g_autoptr (GenDataState) st = gen_data_state_load (sysroot, NULL);
  if (!st || st->pending)
    return NULL;
  if (store_needs_cleanup (sysroot))
    return NULL;

  /* From here on, errors are the switch's own. */
  *out_needs_store = FALSE;
  g_autoptr (GPtrArray) files = gen_render_config (m, error);
  if (!files)
    return NULL;
  const GenDataDecl *tree_decl = prev->data->source == GEN_DATA_BY_RELEASE ? prev->data : NULL;
  g_autoptr (GenDataDecl) decl = gen_data_decl_choose (tree_decl, m->release_data, error);
  if (!decl)
    {
      g_prefix_error (error, "%s: ", m->path);
      return NULL;
    }
  if (decl->schema > st->schema)
    {
      *out_needs_store = TRUE; /* migrations: their steps are in the store */
      g_clear_error (error);
      return NULL;
    }

  g_autoptr (GenSwitchResult) result = g_new0 (GenSwitchResult, 1);
  g_autoptr (GenGeneration) g = gen_generation_copy (prev);
  g->number = sysroot->last + 1;
  g_free (g->date);
  g->date = gen_iso8601_now ();
  g_free (g->os);
  g->os = g_strdup (m->os);
  g_strfreev (g->kernel_args);
  g->kernel_args = g_strdupv (m->kernel_args);
  g_free (g->manifest_path);
  g->manifest_path = g_canonicalize_filename (m->path, NULL);
  g_clear_pointer (&g->manifest_revision, g_free); /* git's, below */
  g->manifest_dirty = FALSE;
  g_free (g->config_digest);
  g->config_digest = gen_render_digest (files);
  gen_data_decl_free (g->data);
  g->data = g_steal_pointer (&decl);
  g_strfreev (g->data_paths);
  g->data_paths = g_strdupv (m->data_paths);
  g_free (g->boot_loader);
  g->boot_loader = g_strdup (m->boot_loader);
  g->boot_limit = m->boot_limit;
  result->previous = g_steal_pointer (&prev);

  /* Whether a generation will be made: this only reads, so it comes before
   * the cleanup, and git can run beside that too. */
  gboolean unchanged = gen_switch_compare (sysroot, result, g, files, error);
  if (!unchanged && result->config_changes == NULL)
    return NULL;
  g_autoptr (GenGeneration) same = NULL;
  if (!unchanged && !gen_switch_find_other (sysroot, g, base, boot_only, &same, error))
    return NULL;
  /* The manifest's git revision goes into the new generation's record: git
   * (about 10 ms, most of it its own start) runs beside the work up to it. */
  g_autoptr (GenGitQuery) git = unchanged || same ? NULL : gen_git_query_start (m->dir);

  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  if (!gen_sysroot_cleanup (sysroot, removed, error))
    {
      g_prefix_error (error, "cleaning up after an earlier run: ");
      return NULL;
    }
  if (removed->len > 0)
    {
      /* An interrupted run: the store may hold its leftovers too. */
      *out_needs_store = TRUE;
      return NULL;
    }

  if (unchanged)
    {
      /* No new generation.  It may still need to become default/current. */
      if (!gen_switch_reuse (sysroot, result, g_steal_pointer (&result->previous), boot_only,
                             FALSE, error))
        return NULL;
      return g_steal_pointer (&result);
    }
  if (same)
    {
      if (!gen_switch_reuse (sysroot, result, g_steal_pointer (&same), boot_only, FALSE, error))
        return NULL;
      return g_steal_pointer (&result);
    }
  result->created = TRUE;
  result->activated = TRUE;
  if (g->number != sysroot->current && g->number != sysroot->default_gen)
    {
      result->data = gen_data_plan (sysroot, g, NULL, "switch", (flags & GEN_SWITCH_FORCE) != 0,
                                    error);
      if (!result->data)
        return NULL;
    }
  guint current = boot_only ? sysroot->current : g->number;
  if (!gen_switch_move_data (sysroot, result, g, error))
    return NULL;
  if (!gen_switch_write_generation (sysroot, g, m, files, git, error)
      || !set_generation_ref (sysroot, g->number, g->release_checksum, error)
      || !gen_boot_write_pending_entry (sysroot, g, current, error))
    {
      /* Do not leave a full disk fuller: the folder was never committed. */
      g_autofree char *tmp = g_strdup_printf (GEN_TMP_DIR "/generation-%u", g->number);
      gen_rm_rf_at (sysroot->dfd, tmp, NULL);
      g_prefix_error (error, "writing generation %u: ", g->number);
      return NULL;
    }
  /* The commit point: everything above is complete and synced. */
  if (!gen_data_commit (sysroot, result->data, error)
      || !gen_sysroot_commit_state (sysroot, m->os, current, g->number, g->number, error))
    return NULL;
  result->generation = g_steal_pointer (&g);
  return g_steal_pointer (&result);
}
