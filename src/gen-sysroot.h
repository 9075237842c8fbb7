/* gen-sysroot.h: a gen sysroot folder, its state and its lock.
 *
 * Layout (docs/architecture.md):
 *   gen/state.json                  os, current, default and last generation: the commit point
 *   gen/lock                        flock()ed by every run that writes
 *   gen/repo/                       the ostree repository (the store)
 *   gen/deploy/<checksum>/          one hardlink checkout per release, shared by generations
 *   gen/generations/<N>/            generation.json, manifest.json, etc/ (the config overlay)
 *   gen/tmp/                        work in progress; emptied by the next run
 *   boot/loader/loader.conf         `default <os>-<N>.conf`
 *   boot/loader/entries/<os>-<N>.conf
 *   boot/<os>/<kver>-<id>/          vmlinuz and initrd.img, copied once per kernel
 *   var/                            persistent, shared by every generation, never copied
 *
 * This part of the library needs only GLib and JSON-GLib (no libostree), so
 * read-only commands stay cheap to start.
 */
#pragma once

#include <gio/gio.h>

#include "gen-generation.h"
#include "gen-index.h"

G_BEGIN_DECLS

#define GEN_STATE_DIR "gen"
#define GEN_STATE_FILE "gen/state.json"
#define GEN_LOCK_FILE "gen/lock"
#define GEN_REPO_DIR "gen/repo"
#define GEN_DEPLOY_DIR "gen/deploy"
#define GEN_GENERATIONS_DIR "gen/generations"
#define GEN_TMP_DIR "gen/tmp"
#define GEN_BOOT_DIR "boot"
#define GEN_LOADER_DIR "boot/loader"
#define GEN_ENTRIES_DIR "boot/loader/entries"
#define GEN_LOADER_CONF "boot/loader/loader.conf"
#define GEN_VAR_DIR "var"
/* Present while the store may hold a release no ref names (gen-store.c). */
#define GEN_UNPRUNED_FILE "gen/store-unpruned"

typedef struct {
  char *path;        /* as given */
  int dfd;           /* the sysroot folder */
  int lock_fd;       /* -1 until gen_sysroot_lock() */
  char *os;          /* NULL until init --os or the first switch names it */
  guint current;     /* 0: none */
  guint default_gen; /* 0: none */
  guint last;        /* highest generation number ever committed */
  GHashTable *records; /* number → GenGeneration read so far: a committed record never changes */
  GenIndex *index;     /* gen/generations.idx, once read (gen_sysroot_list_generations) */
} GenSysroot;

void gen_sysroot_free (GenSysroot *sysroot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSysroot, gen_sysroot_free)

/* Opens an initialised sysroot and reads its state (GEN_ERROR_NOT_INITIALIZED otherwise). */
GenSysroot *gen_sysroot_open (const char *path, GError **error);

/* Creates the folders and the first state of a sysroot; no store (see gen_store_init). */
gboolean gen_sysroot_prepare (const char *path, const char *os, GError **error);

/* Takes the lock. With @wait FALSE, a held lock is GEN_ERROR_BUSY. */
gboolean gen_sysroot_lock (GenSysroot *sysroot, gboolean wait, GError **error);

/* Re-reads gen/state.json (after taking the lock). */
gboolean gen_sysroot_reload (GenSysroot *sysroot, GError **error);

/* Removes what a killed run left behind: gen/tmp, temporary files, generations
 * above `last` and their boot entries; puts the boot menus back in step with
 * the state.  Needs the lock.  @out_removed (may be NULL) gets what was removed. */
gboolean gen_sysroot_cleanup (GenSysroot *sysroot, GPtrArray *out_removed, GError **error);

/* Generation @number's record, read from its generation.json (a copy: free it). */
GenGeneration *gen_sysroot_load_generation (GenSysroot *sysroot, guint number, GError **error);

/* Every committed generation's record, sorted by number, as
 * gen/generations.idx keeps it (gen-index.h): reads only the records the
 * index lacks or holds for another folder.  The array (free it) borrows its
 * elements from @sysroot: valid as long as it. */
GPtrArray *gen_sysroot_list_generations (GenSysroot *sysroot, GError **error);

/* The numbers of the committed generations, ascending: no record read (when
 * gen/generations is as the index knows it, not even the folder). */
GArray *gen_sysroot_generation_numbers (GenSysroot *sysroot, GError **error);

/* The record of committed generation @number after one of the two calls
 * above (borrowed, as theirs), or NULL. */
GenGeneration *gen_sysroot_listed_generation (GenSysroot *sysroot, guint number);

/* The record of committed generation @number after one of the two calls
 * above, as gen_generation_json_text() gives it (borrowed, as theirs), or
 * NULL; *@out_reads whether its release
 * reads data schema @schema.  Decodes nothing but these two. */
const char *gen_sysroot_listed_json (GenSysroot *sysroot, guint number, guint schema,
                                     gboolean *out_reads);

/* The index as this run knows it (read on first use). */
GenIndex *gen_sysroot_index (GenSysroot *sysroot);

/* Writes gen/generations.idx when this run changed what it holds (done by
 * gen_sysroot_commit_state() after the commit and the boot menus, and by a
 * switch with nothing to commit); nothing without the lock.  A failure costs
 * only time (the next run reads the records again): it is logged, not
 * returned. */
void gen_sysroot_save_index (GenSysroot *sysroot);

/* What the boot hook writes for the booted system (bootloader-hooks/gen-hook.sh):
 * os=, generation=, release=, root= and sysroot= lines. */
#define GEN_BOOTED_FILE "/run/gen/booted"

/* The generation the running system booted: from GEN_BOOTED_FILE when it
 * names this sysroot (mounted at /run/gen/sysroot by the boot hook), else
 * from gen.generation= on /proc/cmdline when the sysroot is "/"; 0 otherwise. */
guint gen_sysroot_booted (GenSysroot *sysroot);

/* The same from @booted_file alone. */
guint gen_sysroot_booted_from (GenSysroot *sysroot, const char *booted_file);

/* The sysroot a command works on when no --sysroot is given: on a system
 * gen booted, the folder @booted_file's sysroot= line names (the boot hook
 * mounts the sysroot there, and "/" is the generation); else "/". */
char *gen_sysroot_default_path (const char *booted_file);

/* gen/deploy/<checksum>: where a release is checked out, relative to the sysroot. */
char *gen_sysroot_deploy_path (const char *checksum);

/* The commit point: writes gen/state.json atomically, then the boot menus (gen_boot_sync). */
gboolean gen_sysroot_commit_state (GenSysroot *sysroot, const char *os, guint current,
                                   guint default_gen, guint last, GError **error);

G_END_DECLS
