/* gen diff [A [B]] [--json] [--stat]: what changed between two generations. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-cli-diff.h"
#include "gen-diff.h"
#include "gen-error.h"

/* The generation before the current one, as rollback picks it. */
static guint
previous_generation (GenSysroot *s, GError **error)
{
  g_autoptr (GPtrArray) gens = gen_sysroot_list_generations (s, error);
  if (!gens)
    return 0;
  guint prev = 0;
  for (guint i = 0; i < gens->len; i++)
    {
      GenGeneration *g = gens->pdata[i];
      if (g->number < s->current)
        prev = g->number;
    }
  if (!prev)
    g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                 "no generation before the current one (%u) to compare with; name two "
                 "generations (see 'gen list')",
                 s->current);
  return prev;
}

int
gen_builtin_diff (GenCli *cli, int argc, char **argv)
{
  gboolean json = FALSE, stat_only = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (keys in gen-diff(1))", NULL },
    { "stat", 0, 0, G_OPTION_ARG_NONE, &stat_only, "Print counts only", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, "[A [B]]",
                      "Show what changed from generation A to generation B: packages, config, "
                      "release files, kernel and size.  Default: the generation before the "
                      "current one, and the current one; with only A, A and the current one.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 3)
    return gen_cli_usage_error ("gen diff: expected at most two generation numbers");

  g_autoptr (GError) error = NULL;
  GenSysroot *s = cli->sysroot;
  guint a = 0, b = s->current;
  if (argc >= 2 && !gen_cli_parse_generation (argv[1], &a, &error))
    return gen_cli_error (error);
  if (argc == 3 && !gen_cli_parse_generation (argv[2], &b, &error))
    return gen_cli_error (error);
  if (b == 0)
    {
      g_set_error (&error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "there is no current generation to compare with (see 'gen list')");
      return gen_cli_error (error);
    }
  if (argc < 2 && !(a = previous_generation (s, &error)))
    return gen_cli_error (error);

  g_autoptr (GenDiff) d = gen_diff_generations (s, a, b, NULL, &error);
  if (!d)
    return gen_cli_error (error);
  gen_cli_print_diff (d, json, stat_only);
  return GEN_EXIT_OK;
}
