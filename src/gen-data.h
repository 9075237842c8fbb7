/* gen-data.h: data that outlives releases (docs/data.md).
 *
 * - Data paths: folders a manifest declares (`data.paths`), kept under the
 *   sysroot's var/ and linked (bind-mounted by the boot hook) into every
 *   generation, never copied.
 * - Data schemas: each release declares the schema it writes and the ones
 *   it reads (usr/lib/gen/release.json, or the manifest's release.data);
 *   gen/data.json records the schema the data is at.
 * - Migrations: executables usr/lib/gen/migrations/<from>-<to> in a release,
 *   run in order by a switch before it activates the release.
 * - Moves: a generation may become current only if its release reads the
 *   data's schema (or with --force, recorded).
 *
 * gen-core: GLib, GIO and JSON-GLib only.  Reading a release from the store
 * is in gen-data-release.h.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "gen-generation.h"
#include "gen-sysroot.h"

G_BEGIN_DECLS

#define GEN_DATA_STATE_FILE "gen/data.json"
#define GEN_DATA_LOG_DIR "gen/migration-logs"
#define GEN_DATA_RELEASE_FILE "usr/lib/gen/release.json"
#define GEN_DATA_MIGRATIONS_DIR "usr/lib/gen/migrations"
/* Where a data path outside /var is kept, relative to the sysroot. */
#define GEN_DATA_STORE_DIR "var/lib/gen/data"
/* In a generation folder: the binds the boot hook makes, one "SOURCE TARGET" a line. */
#define GEN_DATA_PATHS_FILE "data-paths"

/* --- declarations ---------------------------------------------------------- */

typedef enum {
  GEN_DATA_UNDECLARED, /* schema 0, reads 0 */
  GEN_DATA_BY_RELEASE, /* usr/lib/gen/release.json */
  GEN_DATA_BY_MANIFEST /* the manifest's release.data */
} GenDataSource;

struct _GenDataDecl {
  GenDataSource source;
  guint schema;  /* the schema this release writes */
  GArray *reads; /* guint, ascending, without duplicates; holds schema */
};

GenDataDecl *gen_data_decl_new_undeclared (void);
GenDataDecl *gen_data_decl_copy (const GenDataDecl *decl);
void gen_data_decl_free (GenDataDecl *decl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenDataDecl, gen_data_decl_free)

/* Same schema and same reads (the source is not compared). */
gboolean gen_data_decl_equal (const GenDataDecl *a, const GenDataDecl *b);
gboolean gen_data_decl_reads (const GenDataDecl *decl, guint schema);
/* Whether @schema is among the @n schemas @reads (a declaration's reads). */
gboolean gen_data_reads_contain (const guint *reads, gsize n, guint schema);
/* "1, 2" */
char *gen_data_decl_reads_string (const GenDataDecl *decl);
const char *gen_data_source_name (GenDataSource source);

/* Parses {"schema": N, "reads": [N, …]} (reads defaults to [schema]).
 * Errors are GEN_ERROR_INVALID_RELEASE and read "KEY.MEMBER: why", @key
 * naming the object ("release.data", "data"). */
GenDataDecl *gen_data_decl_parse (JsonNode *node, const char *key, GenDataSource source,
                                  GError **error);

/* Parses the text of usr/lib/gen/release.json: *@out is NULL when the file
 * declares no "data".  Other top-level keys are ignored. */
gboolean gen_data_decl_parse_release_file (const char *text, gsize len, GenDataDecl **out,
                                           GError **error);

/* The declaration of a release whose tree says @from_tree (may be NULL) and
 * whose manifest says @from_manifest (may be NULL): the tree's, else the
 * manifest's, else undeclared.  Both, and different: an error. */
GenDataDecl *gen_data_decl_choose (const GenDataDecl *from_tree, const GenDataDecl *from_manifest,
                                   GError **error);

/* The generation record's "data" object, and back (a record without one is
 * undeclared, with no paths). */
void gen_data_add_json (JsonBuilder *builder, const GenDataDecl *decl, GStrv paths);
void gen_data_from_json (JsonObject *record, GenDataDecl **out_decl, GStrv *out_paths);

/* --- data paths ------------------------------------------------------------ */

/* Checks one data path: absolute, normalised, printable, no ':' or space,
 * not /, not in /etc, /usr, /boot, /gen or the file systems the kernel
 * provides.  The message says why (the caller names the key). */
gboolean gen_data_path_check (const char *path, GError **error);

/* Where path @path is kept, relative to the sysroot: a path in /var is that
 * folder of var/ ("var/lib/db"); any other is under GEN_DATA_STORE_DIR
 * ("var/lib/gen/data/srv/db"). */
char *gen_data_path_storage (const char *path);

/* Creates each path's folder under the sysroot (0755, as needed).  Never
 * removes or copies anything. */
gboolean gen_data_prepare_paths (GenSysroot *sysroot, GStrv paths, GError **error);

/* Writes GEN_DATA_PATHS_FILE into the generation folder @dir (relative to
 * the sysroot), as a new file: "SOURCE TARGET" a line, for paths outside /var. */
gboolean gen_data_write_paths_file (GenSysroot *sysroot, const char *dir, GStrv paths,
                                    GError **error);

/* --- the data's state: gen/data.json --------------------------------------- */

typedef struct {
  gboolean exists;     /* gen/data.json was there */
  guint schema;        /* the schema the data is at (0 when the file is missing) */
  /* A migration step that began and has not succeeded: interrupted (a
   * crash) or failed.  Cleared when it succeeds. */
  gboolean pending;
  guint pending_from, pending_to;
  char *pending_release;  /* checksum */
  char *pending_version;  /* its label: version, or short checksum */
  char *pending_date;
  int pending_status;     /* -1: interrupted; else the exit status, or 128+signal */
  JsonArray *history;     /* events, oldest first (docs/data.md) */
} GenDataState;

void gen_data_state_free (GenDataState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenDataState, gen_data_state_free)

GenDataState *gen_data_state_load (GenSysroot *sysroot, GError **error);
gboolean gen_data_state_save (GenSysroot *sysroot, GenDataState *state, GError **error);

/* The last "forced" event of the history, or NULL. */
JsonObject *gen_data_state_last_forced (GenDataState *state);

/* --- moves and migrations -------------------------------------------------- */

typedef struct {
  guint from, to;
  char *name;        /* "1-2" */
  gboolean executable;
} GenDataStep;

void gen_data_step_free (GenDataStep *step);
/* Parses a step name "<from>-<to>" (decimal, from < to); NULL otherwise. */
GenDataStep *gen_data_step_parse (const char *name, gboolean executable);

typedef struct {
  gboolean first;     /* the sysroot has no generation yet: the data starts at `to` */
  guint from;         /* the data's schema now */
  guint to;           /* its schema once the target is current */
  char *release;      /* the target's release checksum: the steps are in its checkout */
  GPtrArray *steps;   /* GenDataStep to run, in order (none when to <= from) */
  char *forced;       /* the risk --force took, for the warning; NULL when none */
  char *command;      /* "switch", "rollback": recorded with a forced move */
  guint target;       /* the target generation's number (made or to be made) */
  char *target_release_label;
  GArray *target_reads; /* guint */
} GenDataPlan;

void gen_data_plan_free (GenDataPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenDataPlan, gen_data_plan_free)

/* Decides whether @target may become current, and which migrations that
 * needs.  @available: GenDataStep the target's release ships (NULL: none).
 * @command is "switch" or "rollback", for messages.  Refused, with an error
 * that names both releases and schemas and the way forward: a missing or
 * non-executable step (always); a target that does not read the data's
 * schema, or a migration past what the current generation (which keeps
 * running meanwhile) reads (both unless @force; then plan->forced says what
 * was risked).  Writes nothing. */
GenDataPlan *gen_data_plan (GenSysroot *sysroot, GenGeneration *target, GPtrArray *available,
                            const char *command, gboolean force, GError **error);

/* Runs the plan's steps, in order, from the target release's checkout
 * (gen/deploy/<checksum>/usr/lib/gen/migrations/), each with GEN_SYSROOT,
 * GEN_DATA_PATHS (@paths under the sysroot, colon-separated),
 * GEN_DATA_FROM, GEN_DATA_TO, GEN_RELEASE_DIR and, when the step was
 * interrupted or failed before, GEN_DATA_RETRY=1.  gen/data.json records
 * the step before it starts and the new schema after it succeeds; the
 * output goes to gen/migration-logs/.  Stops at the first failure.
 * @number names the logs (the generation being made, or reused). */
gboolean gen_data_migrate (GenSysroot *sysroot, GenDataPlan *plan, GStrv paths, guint number,
                           GError **error);

/* Called just before the state commit of a switch or rollback: records the
 * first generation's schema, and a forced move (gen/data.json).  Writes
 * nothing when there is nothing to record. */
gboolean gen_data_commit (GenSysroot *sysroot, GenDataPlan *plan, GError **error);

G_END_DECLS
