/* gen pin [--remove] N: keep generation N in the boot menu and from gen gc. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-pin.h"

int
gen_builtin_pin (GenCli *cli, int argc, char **argv)
{
  gboolean remove = FALSE;
  GOptionEntry entries[] = {
    { "remove", 0, 0, G_OPTION_ARG_NONE, &remove, "Unpin N instead", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, "N",
                      "Pin generation N: it stays in the boot menu whatever boot.limit says, "
                      "and gen gc keeps it.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc < 2)
    return gen_cli_usage_error ("gen pin: which generation? (gen pin [--remove] N)");
  if (argc > 2)
    return gen_cli_usage_error ("gen pin: unexpected argument '%s'", argv[2]);

  g_autoptr (GError) error = NULL;
  guint n = 0;
  gboolean changed = FALSE;
  if (!gen_cli_parse_generation (argv[1], &n, &error)
      || !gen_pin (cli->sysroot, n, !remove, &changed, &error))
    return gen_cli_error (error);
  if (remove)
    printf (changed ? "generation %u is no longer pinned\n" : "generation %u was not pinned\n", n);
  else
    printf (changed ? "pinned generation %u: it stays in the boot menu and gen gc keeps it\n"
                    : "generation %u is already pinned\n",
            n);
  return GEN_EXIT_OK;
}
