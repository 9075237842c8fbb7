/* gen-boot.h: the boot menus.
 *
 * One generation list makes one menu (gen_boot_menu_new: which generations it
 * keeps, which one is the default, what each entry boots), and every backend
 * writes that menu in its own format:
 *   systemd-boot  boot/loader/entries/<os>-<N>.conf (BLS Type #1) and
 *                 boot/loader/loader.conf; always written: the entries are
 *                 gen's own record of the menu (gen-boot-systemd-boot.c)
 *   grub          boot/grub/grub.cfg (gen-boot-grub.c)
 *   extlinux      boot/extlinux/extlinux.conf (gen-boot-extlinux.c)
 * gen_boot_sync() rewrites them all after every change of the state
 * (switch, rollback, pin, gc, the cleanup of an interrupted run), each file atomically.
 */
#pragma once

#include "gen-sysroot.h"

G_BEGIN_DECLS

/* The names boot.loader accepts, the default first; NULL-terminated. */
extern const char *const gen_boot_loader_names[];

/* Seconds every menu waits before it starts the default entry. */
#define GEN_BOOT_TIMEOUT 3

typedef struct {
  guint number;              /* the generation it boots */
  guint fallback;            /* the next older generation in the menu; 0 for none */
  /* The rest is set once the entry is ready (gen_boot_menu_ready()): */
  GenGeneration *generation; /* its record, borrowed */
  char *title;               /* "demo, generation 4 (release 2.0, 2026-11-28)" */
  char *cmdline;             /* what the boot hook reads (docs/booting.md) */
} GenBootEntry;

typedef struct {
  char *os;
  char *loader;             /* the default generation's boot.loader */
  GPtrArray *entries;       /* GenBootEntry, newest generation first */
  GenBootEntry *default_entry;
  GPtrArray *generations;   /* holds what the entries point at (gen_boot_menu_new) */
  GenSysroot *sysroot;      /* borrowed, may be NULL: where gen_boot_sync()'s entries take their records */
  GenIndex *index;          /* borrowed, may be NULL: which menu files are known to be right */
} GenBootMenu;

void gen_boot_menu_free (GenBootMenu *menu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenBootMenu, gen_boot_menu_free)

/* The menu of @generations (GenGeneration, any order; the menu takes a
 * reference) when @default_gen is the boot default and @current the current
 * generation (0: none).  It keeps the newest boot.limit generations (the
 * default generation's setting), the default and current ones, and any
 * number in @pinned (0-terminated, may be NULL; gen-pin.h).
 * Older generations stay on disk; they only leave the menu. */
GenBootMenu *gen_boot_menu_new (const char *os, GPtrArray *generations, guint default_gen,
                                guint current, const guint *pinned, GError **error);

/* Makes @entry of @menu ready (all entries when NULL): its record, title and
 * command line.  gen_boot_menu_new()'s are; gen_boot_sync() makes an entry
 * ready only when it is written, so that a menu of 1,000 generations does
 * not read 1,000 records to add one entry. */
gboolean gen_boot_menu_ready (GenBootMenu *menu, GenBootEntry *entry, GError **error);

/* The menu's entry for generation @number, or NULL when the menu leaves it out. */
GenBootEntry *gen_boot_menu_lookup (GenBootMenu *menu, guint number);

/* Rewrites every boot menu from the committed generations and the state in
 * @sysroot: the systemd-boot entries and loader.conf always, grub.cfg and
 * extlinux.conf when the default generation's boot.loader names them or gen
 * wrote them before (a stale menu is never left behind).  Entries of
 * generations the menu leaves out are removed last.  Files already right are
 * not touched; nothing is when the default generation has no record.  Needs
 * the lock. */
gboolean gen_boot_sync (GenSysroot *sysroot, GError **error);

/* The same as if the generations numbered in @without (0-terminated, may
 * be NULL) were gone already: `gen gc` takes its victims out of every menu
 * before it removes them.  The default generation must not be in it. */
gboolean gen_boot_sync_without (GenSysroot *sysroot, const guint *without, GError **error);

/* Writes the systemd-boot entry of @g, a generation being made (not yet
 * committed), as the menu will have it once @g is the default and @current
 * the current generation. */
gboolean gen_boot_write_pending_entry (GenSysroot *sysroot, GenGeneration *g, guint current,
                                       GError **error);

/* systemd-boot (gen-boot-systemd-boot.c) */

/* "<os>-<N>.conf" */
char *gen_boot_entry_name (const char *os, guint number);

/* The text of an entry's BLS Type #1 file (a ready entry). */
char *gen_boot_entry_text (GenBootEntry *entry);

/* Writes boot/loader/loader.conf naming @number's entry as the default, atomically.
 * Leaves it alone when it already says so. */
gboolean gen_boot_write_loader_conf (int sysroot_dfd, const char *os, guint number, GError **error);

/* The entry name loader.conf names as default, or NULL. */
char *gen_boot_read_default (int sysroot_dfd);

/* GRUB (gen-boot-grub.c) and extlinux (gen-boot-extlinux.c): the menu file's text. */
char *gen_boot_grub_text (GenBootMenu *menu);
char *gen_boot_extlinux_text (GenBootMenu *menu);
/* boot/grub/grubenv as gen creates it beside grub.cfg: an empty 1024-byte
 * GRUB environment block, where the boot hook writes next_entry. */
char *gen_boot_grub_env_text (void);
/* The generation number an entry file of @os is for: "<os>-<N>.conf", or
 * with boot counting "<os>-<N>+<LEFT>[-<DONE>].conf".  FALSE for any other
 * name (entries gen did not write). */
gboolean gen_boot_entry_number (const char *os, const char *name, guint *out);

G_END_DECLS
