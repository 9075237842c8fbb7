/* gen-boot-private.h: what the boot menu backends share (src/gen-boot-*.c). */
#pragma once

#include "gen-boot.h"

G_BEGIN_DECLS

/* The first words of every menu file gen writes: gen_boot_sync() keeps a file
 * that starts with them up to date even when boot.loader names another loader. */
#define GEN_BOOT_HEADER "# written by gen"

/* Bump when an entry's text changes for the same record and fallback
 * (gen_boot_entry_text(), its title or command line): the index then
 * trusts no entry written before (menu_key(), entry_from()). */
#define GEN_BOOT_ENTRY_FORMAT 1

typedef struct {
  const char *name;  /* as boot.loader names it */
  const char *path;  /* its menu file, relative to the sysroot; NULL when it has many */
  gboolean (*write) (int sysroot_dfd, GenBootMenu *menu, GError **error);
} GenBootBackend;

extern const GenBootBackend gen_boot_backend_systemd_boot;
extern const GenBootBackend gen_boot_backend_grub;
extern const GenBootBackend gen_boot_backend_extlinux;

/* Removes the systemd-boot entries of this OS's generations that @menu leaves out. */
gboolean gen_boot_systemd_boot_prune (int sysroot_dfd, GenBootMenu *menu, GError **error);

/* Writes @text to @path (relative to the sysroot) atomically, creating its
 * folder; leaves the file alone when it already holds @text: when @index
 * (may be NULL) knows it does without reading it, else by reading it.
 * @index notes the file as made from @from (may be NULL; gen-index.h). */
gboolean gen_boot_write_file (int sysroot_dfd, GenIndex *index, const char *path,
                              const char *text, const guint8 *from, GError **error);

G_END_DECLS
