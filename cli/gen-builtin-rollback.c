/* gen rollback [--to N]: make an earlier generation current and default. */
#include <stdio.h>

#include "gen-activate.h"
#include "gen-builtins.h"

int
gen_builtin_rollback (GenCli *cli, int argc, char **argv)
{
  g_autofree char *to_arg = NULL;
  gboolean force = FALSE;
  GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_STRING, &to_arg, "Generation to make current (default: the one before the current)", "N" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Even if its release does not read the data's schema (risky; see gen-rollback(1))", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL,
                      "Make generation N (default: the newest before the current one) current "
                      "and the boot default.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen rollback: unexpected argument '%s' (use --to N)", argv[1]);

  g_autoptr (GError) error = NULL;
  guint to = 0;
  if (to_arg && !gen_cli_parse_generation (to_arg, &to, &error))
    return gen_cli_error (error);
  guint from = cli->sysroot->current, from_default = cli->sysroot->default_gen;
  g_autofree char *forced = NULL;
  guint now = gen_rollback_full (cli->sysroot, to, force, &forced, &error);
  if (!now)
    return gen_cli_error (error);
  gen_cli_warn_forced (forced);
  if (now == from && now == from_default)
    printf ("generation %u is already current and the boot default\n", now);
  else if (now == from)
    printf ("generation %u is current and now the boot default again\n", now);
  else if (from)
    printf ("rolled back from generation %u to generation %u (current and boot default)\n", from,
            now);
  else
    printf ("generation %u is now current and the boot default\n", now);
  return GEN_EXIT_OK;
}
