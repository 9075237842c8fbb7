/* gen-boot.h: the systemd-boot backend: BLS Type #1 entries and loader.conf
 * under DIR/boot, as the Boot Loader Specification and PRODUCT.md describe. */
#pragma once

#include "gen-generation.h"

G_BEGIN_DECLS

/* "<os>-<N>.conf" */
char *gen_boot_entry_name (const char *os, guint number);

/* The text of a generation's entry. */
char *gen_boot_entry_text (GenGeneration *gen);

/* Writes the entry into boot/loader/entries (relative to @sysroot_dfd), atomically. */
gboolean gen_boot_write_entry (int sysroot_dfd, GenGeneration *gen, GError **error);

/* Writes boot/loader/loader.conf naming @number's entry as the default, atomically.
 * Leaves it alone when it already says so. */
gboolean gen_boot_write_loader_conf (int sysroot_dfd, const char *os, guint number, GError **error);

/* The entry name loader.conf names as default, or NULL. */
char *gen_boot_read_default (int sysroot_dfd);

/* The generation number an entry file of @os is for: "<os>-<N>.conf", or
 * with boot counting "<os>-<N>+<LEFT>[-<DONE>].conf".  FALSE for any other
 * name (entries gen did not write). */
gboolean gen_boot_entry_number (const char *os, const char *name, guint *out);

G_END_DECLS
