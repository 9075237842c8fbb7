/* gen-builtins.h: one function per subcommand, each in cli/gen-builtin-NAME.c.
 * Adding a command: docs/HACKING.md has the checklist. */
#pragma once

#include "gen-cli.h"

int gen_builtin_init (GenCli *cli, int argc, char **argv);
int gen_builtin_switch (GenCli *cli, int argc, char **argv);
int gen_builtin_rollback (GenCli *cli, int argc, char **argv);
int gen_builtin_list (GenCli *cli, int argc, char **argv);
int gen_builtin_status (GenCli *cli, int argc, char **argv);
int gen_builtin_diff (GenCli *cli, int argc, char **argv);
int gen_builtin_fsck (GenCli *cli, int argc, char **argv);
int gen_builtin_pin (GenCli *cli, int argc, char **argv);
int gen_builtin_gc (GenCli *cli, int argc, char **argv);
