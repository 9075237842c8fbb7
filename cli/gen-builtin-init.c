/* gen init [--os NAME]: prepare a sysroot. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-error.h"
#include "gen-manifest.h"
#include "gen-store.h"

int
gen_builtin_init (GenCli *cli, int argc, char **argv)
{
  g_autofree char *os = NULL;
  GOptionEntry entries[] = {
    { "os", 0, 0, G_OPTION_ARG_STRING, &os, "Name of the OS this sysroot holds (manifests must match)", "NAME" },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL, "Prepare DIR: the store, the state and the boot folders.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen init: unexpected argument '%s'", argv[1]);
  if (os && !gen_os_name_is_valid (os))
    return gen_cli_usage_error (
        "gen init: --os '%s' must be lower-case letters, digits, '.', '_' or '-'", os);

  g_autoptr (GError) error = NULL;
  if (!g_file_test (cli->sysroot_path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (&error, GEN_ERROR, GEN_ERROR_FAILED, "sysroot '%s' is not a folder",
                   cli->sysroot_path);
      return gen_cli_error (error);
    }
  g_autoptr (GenSysroot) existing = gen_sysroot_open (cli->sysroot_path, NULL);
  if (existing && !gen_sysroot_lock (existing, FALSE, NULL))
    {
      fprintf (stderr, "gen: another gen run holds the lock on '%s'; waiting for it to finish…\n",
               cli->sysroot_path);
      if (!gen_sysroot_lock (existing, TRUE, &error))
        return gen_cli_error (error);
    }
  if (existing && os && existing->os && !g_str_equal (existing->os, os))
    {
      g_set_error (&error, GEN_ERROR, GEN_ERROR_FAILED,
                   "'%s' is already initialised for OS '%s'", cli->sysroot_path, existing->os);
      return gen_cli_error (error);
    }
  if (!gen_store_init (cli->sysroot_path, os, NULL, &error))
    return gen_cli_error (error);
  if (existing && os && !existing->os
      && !gen_sysroot_commit_state (existing, os, existing->current, existing->default_gen,
                                    existing->last, &error))
    return gen_cli_error (error);

  const char *shown_os = os ? os : existing && existing->os ? existing->os : NULL;
  printf ("%s %s%s%s%s\n", existing ? "already initialised:" : "initialised", cli->sysroot_path,
          shown_os ? " (os " : "", shown_os ? shown_os : "", shown_os ? ")" : "");
  return GEN_EXIT_OK;
}
