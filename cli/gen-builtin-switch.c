/* gen switch MANIFEST [--boot | --dry-run]: make a generation and activate it.
 *
 * Built into both programs: in `gen` it makes a config-only switch itself
 * (gen_switch_quick) and executes gen-store for anything else; in gen-store
 * it makes every switch (gen_switch). */
#include <stdio.h>
#include <string.h>

#include "gen-builtins.h"
#ifdef GEN_WITH_STORE
#include "gen-cli-diff.h"
#include "gen-switch.h"
#else
#include "gen-render.h"
#include "gen-switch-core.h"
#endif

/* The data's schema, its migrations and the data paths. */
static void
print_data (GenSwitchResult *r, gboolean dry_run)
{
  GenGeneration *g = r->generation;
  GenDataPlan *d = r->data;
  if (d && d->from == 0 && d->to == 0)
    d = NULL; /* releases that declare no data schema: nothing to say */
  if (d && d->first)
    printf ("  data:        schema %u (the first generation: no migration)\n", d->to);
  else if (d && d->steps->len > 0)
    {
      printf ("  data:        schema %u → %u, %s", d->from, d->to,
              dry_run ? "would run migrations" : "migrated by");
      for (guint i = 0; i < d->steps->len; i++)
        printf ("%s%s", i ? ", " : " ", ((GenDataStep *) d->steps->pdata[i])->name);
      printf ("\n");
    }
  else if (d)
    printf ("  data:        schema %u, no migration\n", d->to);
  if (r->previous && !g_strv_equal ((const char *const *) r->previous->data_paths,
                                    (const char *const *) g->data_paths))
    {
      g_autofree char *paths = g_strjoinv (" ", g->data_paths);
      printf ("  data paths:  changed: %s\n", *paths ? paths : "(none)");
    }
  else if (!r->previous && g->data_paths[0])
    {
      g_autofree char *paths = g_strjoinv (" ", g->data_paths);
      printf ("  data paths:  %s\n", paths);
    }
}

#ifdef GEN_WITH_STORE
/* "  LABEL  a, b, c" wrapped at 79 columns under the first item. */
static void
print_list (const char *label, const char *intro, char **items)
{
  int col = printf ("  %-12s %s", label, intro);
  for (char **i = items; *i; i++)
    {
      int len = strlen (*i) + (i[1] ? 1 : 0);
      if (col + 1 + len > 79)
        col = printf ("\n  %-12s", "") - 1;
      col += printf (" %s%s", *i, i[1] ? "," : "");
    }
  printf ("\n");
}

/* What composing a release from packages did (release.packages). */
static void
print_compose (GenRelease *rel, gboolean dry_run)
{
  printf ("  packages:    %u (%u downloaded%s)\n", rel->n_packages, rel->n_fetched,
          dry_run && rel->n_fetched ? ", not kept" : "");
  if (rel->scripts_skipped && rel->scripts_skipped[0])
    {
      guint n = g_strv_length (rel->scripts_skipped);
      g_autofree char *intro = g_strdup_printf ("not run for %u package%s:", n, n == 1 ? "" : "s");
      print_list ("scripts:", intro, rel->scripts_skipped);
    }
  if (rel->setuid_stripped && rel->setuid_stripped[0])
    {
      guint n = g_strv_length (rel->setuid_stripped);
      g_autofree char *intro = g_strdup_printf (
          "removed from %u file%s (see release.packages.setuid):", n, n == 1 ? "" : "s");
      print_list ("setuid:", intro, rel->setuid_stripped);
    }
}

#endif

static void
print_summary (GenSwitchResult *r, gboolean dry_run, gboolean boot_only)
{
  GenGeneration *g = r->generation;
  char buf[11];
  if (!r->created)
    {
      if (!r->activated)
        printf ("no changes: generation %u already matches the manifest%s\n", g->number,
                boot_only ? " and is the boot default" : " and is current and the boot default");
      else
        printf ("no changes to the system: %s generation %u %s\n",
                dry_run ? "would make" : "made", g->number,
                boot_only ? "the boot default" : "current and the boot default");
      return;
    }
  printf ("%s generation %u: release %s (%.10s), kernel %s\n",
          dry_run ? "would make" : "made", g->number, gen_generation_release_label (g, buf),
          g->release_checksum, g->kernel_version);
  if (r->previous)
    printf ("  compared with generation %u:\n", r->previous->number);
  printf ("  release:     %s%s\n", r->new_release ? "new" : "unchanged",
          r->new_checkout ? (dry_run ? " (would be checked out)" : " (checked out)") : "");
#ifdef GEN_WITH_STORE
  if (r->release && r->release->n_packages > 0)
    print_compose (r->release, dry_run);
#endif
  g_autofree char *args = g_strjoinv (" ", g->kernel_args);
  if (!r->previous)
    printf ("  kernel args: %s\n", *args ? args : "(none)");
  else
    printf ("  kernel args: %s%s\n", r->args_changed ? "changed: " : "unchanged",
            r->args_changed ? (*args ? args : "(none)") : "");
  print_data (r, dry_run);
  if (r->boot_changed)
    {
      g_autofree char *limit
          = g->boot_limit ? g_strdup_printf ("%u", g->boot_limit) : g_strdup ("none");
      printf ("  boot:        changed: loader %s, limit %s\n",
              g->boot_loader ? g->boot_loader : "systemd-boot", limit);
    }
  if (r->config_changes->len == 0)
    printf ("  config:      unchanged\n");
  for (guint i = 0; i < r->config_changes->len; i++)
    {
      GenOverlayChange *c = r->config_changes->pdata[i];
      printf ("  %s %c %s\n", i == 0 ? "config:     " : "            ", c->kind, c->path);
    }
#ifdef GEN_WITH_STORE
  if (r->diff)
    {
      printf ("\n");
      gen_cli_print_diff (r->diff, FALSE, FALSE);
      printf ("\n");
    }
#endif
  if (dry_run)
    printf ("dry run: nothing was written\n");
  else if (boot_only)
    printf ("generation %u is the boot default; the current generation is unchanged\n",
            g->number);
  else
    printf ("generation %u is current and the boot default\n", g->number);
}

int
gen_builtin_switch (GenCli *cli, int argc, char **argv)
{
  gboolean boot_only = FALSE, dry_run = FALSE, force = FALSE, watch = FALSE;
  GOptionEntry entries[] = {
    { "boot", 0, 0, G_OPTION_ARG_NONE, &boot_only, "Make the new generation the boot default only", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print what would change; write nothing", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Move the data past what a release reads (risky; see gen-switch(1))", NULL },
    { "watch", 0, 0, G_OPTION_ARG_NONE, &watch, "Keep a watcher on the release folder, so the next switch need not read it", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, "MANIFEST",
                      "Build or fetch the release the manifest names, render its config, write a "
                      "new generation and make it current and the boot default.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc != 2)
    return gen_cli_usage_error ("gen switch: expected one MANIFEST (see 'gen switch --help')");
  if (boot_only && dry_run)
    return gen_cli_usage_error ("gen switch: --boot and --dry-run cannot be combined");
  if (watch && dry_run)
    return gen_cli_usage_error ("gen switch: --watch and --dry-run cannot be combined");

  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) manifest = gen_manifest_load (argv[1], &error);
  if (!manifest)
    return gen_cli_error (error);
  if (watch && manifest->release_kind != GEN_RELEASE_DIR)
    return gen_cli_usage_error ("gen switch: --watch needs a release given as \"dir\"");
  GenSwitchFlags flags = (boot_only ? GEN_SWITCH_BOOT_ONLY : 0) | (dry_run ? GEN_SWITCH_DRY_RUN : 0)
                         | (force ? GEN_SWITCH_FORCE : 0);
#ifdef GEN_WITH_STORE
  g_autoptr (GenSwitchResult) result
      = gen_switch (cli->sysroot, manifest, flags, gen_cli_progress, NULL, NULL, &error);
  gen_cli_progress_done ();
#else
  gboolean needs_store = FALSE;
  g_autoptr (GenSwitchResult) result
      = gen_switch_quick (cli->sysroot, manifest, flags, &needs_store, &error);
  if (!result && needs_store)
    return gen_cli_exec_store (cli->argv);
#endif
  if (!result)
    return gen_cli_error (error);
  print_summary (result, dry_run, boot_only);
  if (!dry_run)
    gen_cli_watch (cli, manifest, watch);
  if (result->data && result->data->forced)
    {
      if (dry_run)
        printf ("with --force: %s\n", result->data->forced);
      else
        gen_cli_warn_forced (result->data->forced);
    }
  return GEN_EXIT_OK;
}
