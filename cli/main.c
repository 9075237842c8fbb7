/* main.c: the gen command.  Parses the global options, then runs one
 * builtin from the table, after opening and locking the sysroot when the
 * builtin's flags ask for it.
 *
 * This file builds two programs.  `gen` links only gen-core (GLib and
 * JSON-GLib): list, status and rollback start in a few milliseconds.  The
 * commands that need the store (libostree, libarchive, libsolv: some 60
 * shared libraries to load) run in `gen-store`, built from the same table
 * with GEN_WITH_STORE, which `gen` executes in its place with the same
 * arguments.  `gen switch` runs in gen when the switch is config-only (see
 * gen-switch-core.h), and executes gen-store otherwise. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gen-builtins.h"
#include "gen-error.h"

typedef enum {
  CMD_OPEN = 1 << 0, /* open the sysroot (it must be initialised) */
  CMD_LOCK = 1 << 1, /* and hold its lock while the command runs */
} CommandFlags;

typedef struct {
  const char *name;
  int (*fn) (GenCli *cli, int argc, char **argv);
  const char *help;
  CommandFlags flags;
} Command;

#ifdef GEN_WITH_STORE
#define STORE(fn) fn
#else
#define STORE(fn) NULL /* runs in gen-store */
#endif

static const Command commands[] = {
  { "init", STORE (gen_builtin_init), "Prepare a sysroot: store, state and boot folders", 0 },
  { "switch", gen_builtin_switch, /* gen: config-only switches; else gen-store */ "Make a generation from a manifest and activate it",
    CMD_OPEN | CMD_LOCK },
  { "rollback", gen_builtin_rollback, "Make an earlier generation current and default",
    CMD_OPEN | CMD_LOCK },
  { "list", gen_builtin_list, "List the generations", CMD_OPEN },
  { "status", gen_builtin_status, "Show the current, default and booted generation", CMD_OPEN },
  { "diff", STORE (gen_builtin_diff), "Show what changed between two generations", CMD_OPEN },
  /* Locks even without --repair: a switch running meanwhile would show its
   * work in progress as problems. */
  { "fsck", STORE (gen_builtin_fsck), "Check the store, the generations and the boot menu",
    CMD_OPEN | CMD_LOCK },
  { "pin", gen_builtin_pin, "Keep a generation in the boot menu and from gc", CMD_OPEN | CMD_LOCK },
  { "gc", STORE (gen_builtin_gc), "Remove old generations and what only they used",
    CMD_OPEN | CMD_LOCK },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: gen [--sysroot DIR] COMMAND [OPTION…]\n\n"
                "Declarative, generation-based OS upgrades.\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf (out, "\nGlobal options:\n"
                "  --sysroot DIR  operate on DIR (everything gen writes is under it); default /,\n"
                "                 or on a system gen booted, the sysroot it booted from\n"
                "  --version      print the version\n"
                "  -h, --help     show this help; 'gen COMMAND --help' for a command\n");
}

/* Takes the lock, saying so when another run holds it. */
static gboolean
lock_sysroot (GenSysroot *sysroot, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  if (gen_sysroot_lock (sysroot, FALSE, &local_error))
    return TRUE;
  if (!g_error_matches (local_error, GEN_ERROR, GEN_ERROR_BUSY))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  fprintf (stderr, "gen: %s; waiting for it to finish…\n", local_error->message);
  return gen_sysroot_lock (sysroot, TRUE, error);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* A copy: option parsing removes what it parsed from argv, and a builtin
   * that hands its command line to gen-store must pass all of it. */
  g_auto (GStrv) argv_copy = g_strdupv (argv);
  GenCli cli = { .sysroot_path = NULL, .argv = argv_copy };

  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *arg = argv[i];
      if (g_str_equal (arg, "--help") || g_str_equal (arg, "-h"))
        {
          print_usage (stdout);
          return GEN_EXIT_OK;
        }
      if (g_str_equal (arg, "--version"))
        {
          printf ("gen %s\n", GEN_VERSION);
          return GEN_EXIT_OK;
        }
      if (g_str_equal (arg, "--sysroot") && i + 1 >= argc)
        return gen_cli_usage_error ("--sysroot needs a folder");
      if (g_str_equal (arg, "--sysroot"))
        cli.sysroot_path = argv[++i];
      else if (g_str_has_prefix (arg, "--sysroot="))
        cli.sysroot_path = arg + strlen ("--sysroot=");
      else
        return gen_cli_usage_error ("unknown global option '%s' (see 'gen --help')", arg);
    }
  if (i >= argc)
    {
      print_usage (stderr);
      return GEN_EXIT_USAGE;
    }
  if (cli.sysroot_path && *cli.sysroot_path == '\0')
    return gen_cli_usage_error ("--sysroot needs a folder");
  /* Without --sysroot: "/", or on a system gen booted, the sysroot the boot
   * hook mounted (gen-store, executed with the same arguments, finds the same). */
  g_autofree char *default_sysroot = NULL;
  if (!cli.sysroot_path)
    cli.sysroot_path = default_sysroot = gen_sysroot_default_path (GEN_BOOTED_FILE);

  const Command *cmd = NULL;
  for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
    if (g_str_equal (commands[c].name, argv[i]))
      cmd = &commands[c];
  if (!cmd)
    return gen_cli_usage_error ("unknown command '%s' (see 'gen --help')", argv[i]);
  cli.command = cmd->name;
  if (!cmd->fn)
    return gen_cli_exec_store (argv);

  /* --help must work before the sysroot exists. */
  gboolean wants_help = FALSE;
  for (int j = i + 1; j < argc; j++)
    wants_help |= g_str_equal (argv[j], "--help") || g_str_equal (argv[j], "-h");

  g_autoptr (GenSysroot) sysroot = NULL;
  if ((cmd->flags & CMD_OPEN) && !wants_help)
    {
      g_autoptr (GError) error = NULL;
      sysroot = gen_sysroot_open (cli.sysroot_path, &error);
      if (!sysroot || ((cmd->flags & CMD_LOCK) && !lock_sysroot (sysroot, &error)))
        return gen_cli_error (error);
      cli.sysroot = sysroot;
    }
  return cmd->fn (&cli, argc - i, argv + i);
}
