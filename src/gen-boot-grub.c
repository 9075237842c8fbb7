/* gen-boot-grub.c: boot/grub/grub.cfg for Debian's GRUB, which has no
 * blscfg: the default generation first, the others in a submenu, newest
 * first.  Paths are relative to the partition that holds DIR/boot; each entry
 * finds it by its kernel, so the file works wherever GRUB was started from.
 *
 * Automatic fallback: an entry with a fallback passes gen.esp=UUID=… (the
 * file system GRUB found its kernel on: the ESP, DIR/boot) to the boot hook,
 * which writes next_entry into boot/grub/grubenv there when the generation
 * cannot start; the next boot's grub.cfg reads it, clears it and starts that
 * entry once, as grub-reboot's next_entry does. */
#include "gen-boot-private.h"

#include "gen-util.h"

#define GRUB_CFG "boot/grub/grub.cfg"
#define GRUB_ENV "boot/grub/grubenv"
/* grub-editenv's size: GRUB's save_env rewrites the block in place, never
 * growing it, so it must exist with room for next_entry. */
#define GRUB_ENV_SIZE 1024
#define GRUB_ENV_HEADER "# GRUB Environment Block\n"

/* A word GRUB's parser reads back as it is: in single quotes, a quote as '\''. */
static void
append_quoted (GString *s, const char *word)
{
  g_string_append_c (s, '\'');
  for (const char *p = word; *p; p++)
    {
      if (*p == '\'')
        g_string_append (s, "'\\''");
      else
        g_string_append_c (s, *p);
    }
  g_string_append_c (s, '\'');
}

static void
append_entry (GString *s, const char *indent, GenBootMenu *menu, GenBootEntry *e)
{
  GenGeneration *g = e->generation;
  g_autofree char *id = g_strdup_printf ("%s-%u", menu->os, g->number);
  g_autofree char *vmlinuz = g_strdup_printf ("/%s/vmlinuz", g->kernel_dir);
  g_string_append_printf (s, "%smenuentry ", indent);
  append_quoted (s, e->title);
  g_string_append (s, " --id ");
  append_quoted (s, id);
  g_string_append (s, " {\n");
  g_string_append_printf (s, "%s\tsearch --no-floppy --set=root --file ", indent);
  append_quoted (s, vmlinuz);
  g_string_append_c (s, '\n');
  if (e->fallback)
    g_string_append_printf (s, "%s\tprobe --set=gen_esp --fs-uuid \"${root}\"\n", indent);
  g_string_append_printf (s, "%s\tlinux ", indent);
  append_quoted (s, vmlinuz);
  g_auto (GStrv) args = g_strsplit (e->cmdline, " ", -1);
  for (char **a = args; *a; a++)
    {
      g_string_append_c (s, ' ');
      append_quoted (s, *a);
    }
  if (e->fallback)
    g_string_append (s, " \"gen.esp=UUID=${gen_esp}\"");
  g_string_append_c (s, '\n');
  if (g->has_initrd)
    {
      g_autofree char *initrd = g_strdup_printf ("/%s/initrd.img", g->kernel_dir);
      g_string_append_printf (s, "%s\tinitrd ", indent);
      append_quoted (s, initrd);
      g_string_append_c (s, '\n');
    }
  g_string_append_printf (s, "%s}\n", indent);
}

char *
gen_boot_grub_text (GenBootMenu *menu)
{
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s,
                          GEN_BOOT_HEADER
                          " from %s's generations; gen rewrites it on every switch\n"
                          "# and rollback (docs/booting.md): edits are lost.\n"
                          "set default=0\n"
                          "set timeout=%d\n"
                          "set timeout_style=menu\n"
                          "# One boot of another entry, asked for by gen's boot hook when a\n"
                          "# generation cannot start (or by grub-reboot): used only once it is\n"
                          "# cleared, so that it can never outlive that one boot.\n"
                          "if [ -s \"${config_directory}/grubenv\" ]; then\n"
                          "\tload_env --file \"${config_directory}/grubenv\" next_entry\n"
                          "\tif [ -n \"${next_entry}\" ]; then\n"
                          "\t\tset gen_next=\"${next_entry}\"\n"
                          "\t\tset next_entry=\n"
                          "\t\tif save_env --file \"${config_directory}/grubenv\" next_entry; then\n"
                          "\t\t\tset default=\"${gen_next}\"\n"
                          "\t\tfi\n"
                          "\tfi\n"
                          "fi\n",
                          menu->os, GEN_BOOT_TIMEOUT);
  append_entry (s, "", menu, menu->default_entry);
  if (menu->entries->len > 1)
    {
      g_autofree char *title = g_strdup_printf ("%s, other generations", menu->os);
      g_autofree char *id = g_strdup_printf ("%s-other", menu->os);
      g_string_append (s, "submenu ");
      append_quoted (s, title);
      g_string_append (s, " --id ");
      append_quoted (s, id);
      g_string_append (s, " {\n");
      for (guint i = 0; i < menu->entries->len; i++)
        if (menu->entries->pdata[i] != menu->default_entry)
          append_entry (s, "\t", menu, menu->entries->pdata[i]);
      g_string_append (s, "}\n");
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* An empty environment block, as grub-editenv creates it. */
char *
gen_boot_grub_env_text (void)
{
  g_autoptr (GString) s = g_string_new (GRUB_ENV_HEADER);
  while (s->len < GRUB_ENV_SIZE)
    g_string_append_c (s, '#');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
write_menu (int dfd, GenBootMenu *menu, GError **error)
{
  if (!gen_boot_menu_ready (menu, NULL, error))
    return FALSE;
  g_autofree char *text = gen_boot_grub_text (menu);
  /* The environment block first, and only when there is none: GRUB and the
   * boot hook own its content (next_entry). */
  if (!gen_exists_at (dfd, GRUB_ENV))
    {
      g_autofree char *env = gen_boot_grub_env_text ();
      if (!gen_boot_write_file (dfd, NULL, GRUB_ENV, env, NULL, error))
        return FALSE;
    }
  return gen_boot_write_file (dfd, menu->index, GRUB_CFG, text, NULL, error);
}

const GenBootBackend gen_boot_backend_grub = {
  .name = "grub",
  .path = GRUB_CFG,
  .write = write_menu,
};
