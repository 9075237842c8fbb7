/* gen-boot-extlinux.c: boot/extlinux/extlinux.conf, one label per
 * generation, newest first, as syslinux and U-Boot's distro boot read it.
 * Paths are relative to the partition that holds DIR/boot. */
#include "gen-boot-private.h"

#include "gen-util.h"

#define EXTLINUX_CONF "boot/extlinux/extlinux.conf"

char *
gen_boot_extlinux_text (GenBootMenu *menu)
{
  g_autoptr (GString) s = g_string_new (NULL);
  /* TIMEOUT counts tenths of a second; PROMPT 1 waits for it. */
  g_string_append_printf (
      s,
      GEN_BOOT_HEADER " from %s's generations; gen rewrites it on every switch\n"
                      "# and rollback (docs/booting.md): edits are lost.\n"
                      "MENU TITLE %s\n"
                      "PROMPT 1\n"
                      "TIMEOUT %d\n"
                      "DEFAULT %s-%u\n",
      menu->os, menu->os, GEN_BOOT_TIMEOUT * 10, menu->os, menu->default_entry->number);
  for (guint i = 0; i < menu->entries->len; i++)
    {
      GenBootEntry *e = menu->entries->pdata[i];
      GenGeneration *g = e->generation;
      g_string_append_printf (s, "\nLABEL %s-%u\n", menu->os, g->number);
      g_string_append_printf (s, "\tMENU LABEL %s\n", e->title);
      g_string_append_printf (s, "\tLINUX /%s/vmlinuz\n", g->kernel_dir);
      if (g->has_initrd)
        g_string_append_printf (s, "\tINITRD /%s/initrd.img\n", g->kernel_dir);
      g_string_append_printf (s, "\tAPPEND %s\n", e->cmdline);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
write_menu (int dfd, GenBootMenu *menu, GError **error)
{
  if (!gen_boot_menu_ready (menu, NULL, error))
    return FALSE;
  g_autofree char *text = gen_boot_extlinux_text (menu);
  return gen_boot_write_file (dfd, menu->index, EXTLINUX_CONF, text, NULL, error);
}

const GenBootBackend gen_boot_backend_extlinux = {
  .name = "extlinux",
  .path = EXTLINUX_CONF,
  .write = write_menu,
};
