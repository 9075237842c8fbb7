/* gen-cli.h: what every builtin shares: the context the dispatcher sets up,
 * and printing (the library never prints). */
#pragma once

#include <json-glib/json-glib.h>

#include "gen-data.h"
#include "gen-manifest.h"
#include "gen-sysroot.h"

G_BEGIN_DECLS

typedef struct {
  const char *sysroot_path; /* --sysroot, or gen_sysroot_default_path () */
  GenSysroot *sysroot;      /* opened (and locked) when the command's flags ask */
  const char *command;      /* for messages: "switch" */
  char **argv;              /* the whole command line, for gen_cli_exec_store() */
} GenCli;

/* Exit codes. */
enum {
  GEN_EXIT_OK = 0,
  GEN_EXIT_FAILED = 1,
  GEN_EXIT_USAGE = 2,
};

/* Prints "error: MESSAGE" once on stderr (red on a terminal unless NO_COLOR). */
int gen_cli_error (GError *error);

/* Runs the same command line (@argv: all of it) in gen-store: beside this
 * program (the build tree, or a relocated install), else in GEN_LIBEXECDIR.
 * Returns only on failure, after printing the error. */
int gen_cli_exec_store (char **argv);
int gen_cli_usage_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* After a switch: with @watch, leaves a watcher on the release folder of @m
 * (gen-watch.h) and stops any other; without, stops the sysroot's
 * watchers.  A watcher that cannot start is a warning, not a failure. */
void gen_cli_watch (GenCli *cli, GenManifest *m, gboolean watch);

/* Parses a builtin's options; on failure prints one error line. --help
 * prints the builtin's help and exits 0. */
gboolean gen_cli_parse (GenCli *cli, const char *args_synopsis, const char *summary,
                        GOptionEntry *entries, int *argc, char ***argv);

/* Parses a generation number argument. */
gboolean gen_cli_parse_generation (const char *arg, guint *out, GError **error);

/* Pretty JSON on stdout, with a final newline. */
void gen_cli_print_json (JsonNode *node);

/* TRUE when stderr is a terminal and NO_COLOR is unset. */
gboolean gen_cli_color (int fd);

/* Shows progress on a terminal; quiet when stderr is not one. */
void gen_cli_progress (const char *step, guint64 done, guint64 total, gpointer user_data);
void gen_cli_progress_done (void);

/* A generation as `gen list --json` shows it: the record plus current,
 * default, booted and pinned. */
JsonNode *gen_cli_generation_json (GenSysroot *sysroot, GenGeneration *g, guint booted,
                                   const guint *pins);

/* "current, default" and so on, for human output. */
char *gen_cli_generation_flags (GenSysroot *sysroot, GenGeneration *g, guint booted,
                                const guint *pins);

/* gen-cli-data.c: "warning: --force: RISK" on stderr (nothing for NULL). */
void gen_cli_warn_forced (const char *forced);
/* Whether generation @g's release reads the data's schema. */
gboolean gen_cli_data_readable (GenSysroot *sysroot, GenDataState *state, GenGeneration *g);
/* Adds data.readable to a generation's JSON. */
void gen_cli_data_annotate (JsonNode *node, GenSysroot *sysroot, GenDataState *state,
                            GenGeneration *g);
/* A sentence about a migration step that began and did not succeed, or NULL. */
char *gen_cli_data_pending (GenDataState *state);
/* `gen status --json`'s "data" object. */
JsonNode *gen_cli_data_state_json (GenSysroot *sysroot, GenDataState *state,
                                   GenGeneration *current);

G_END_DECLS
