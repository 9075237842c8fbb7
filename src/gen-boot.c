#include "gen-boot.h"

#include <string.h>

#include "gen-sysroot.h"
#include "gen-util.h"

char *
gen_boot_entry_name (const char *os, guint number)
{
  return g_strdup_printf ("%s-%u.conf", os, number);
}

char *
gen_boot_entry_text (GenGeneration *g)
{
  char buf[11];
  const char *release = gen_generation_release_label (g, buf);
  g_autofree char *day = g->date ? g_strndup (g->date, 10) : g_strdup ("unknown date");
  g_autofree char *cmdline = gen_generation_kernel_cmdline (g);
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "title %s, generation %u (release %s, %s)\n", g->os, g->number,
                          release, day);
  /* BLS sorts entries by version, newest first: the generation number keeps
   * the menu in generation order whatever the release versions are. */
  g_string_append_printf (s, "version %u\n", g->number);
  g_string_append_printf (s, "sort-key %s\n", g->os);
  g_string_append_printf (s, "linux /%s/vmlinuz\n", g->kernel_dir);
  if (g->has_initrd)
    g_string_append_printf (s, "initrd /%s/initrd.img\n", g->kernel_dir);
  g_string_append_printf (s, "options %s\n", cmdline);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
gen_boot_write_entry (int sysroot_dfd, GenGeneration *g, GError **error)
{
  g_autofree char *name = gen_boot_entry_name (g->os, g->number);
  g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, name, NULL);
  g_autofree char *text = gen_boot_entry_text (g);
  return gen_write_file_at (sysroot_dfd, path, text, strlen (text), 0644, error);
}

char *
gen_boot_read_default (int sysroot_dfd)
{
  g_autofree char *text = gen_read_file_at (sysroot_dfd, GEN_LOADER_CONF, NULL, NULL);
  if (!text)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *line = g_strstrip (*l);
      if (g_str_has_prefix (line, "default") && g_ascii_isspace (line[strlen ("default")]))
        return g_strstrip (g_strdup (line + strlen ("default")));
    }
  return NULL;
}

gboolean
gen_boot_write_loader_conf (int sysroot_dfd, const char *os, guint number, GError **error)
{
  g_autofree char *entry = gen_boot_entry_name (os, number);
  g_autofree char *current = gen_boot_read_default (sysroot_dfd);
  if (current && g_str_equal (current, entry))
    return TRUE;
  /* A menu timeout keeps older generations one key press away. */
  g_autofree char *text = g_strdup_printf ("# written by gen; gen rewrites it on every switch\n"
                                           "default %s\n"
                                           "timeout 3\n",
                                           entry);
  return gen_write_file_at (sysroot_dfd, GEN_LOADER_CONF, text, strlen (text), 0644, error);
}

gboolean
gen_boot_entry_number (const char *os, const char *name, guint *out)
{
  gsize os_len = strlen (os);
  if (strncmp (name, os, os_len) != 0 || name[os_len] != '-' || !g_str_has_suffix (name, ".conf"))
    return FALSE;
  const char *start = name + os_len + 1;
  g_autofree char *number = g_strndup (start, strlen (start) - strlen (".conf"));
  char *plus = strchr (number, '+');
  if (plus)
    *plus = '\0';
  guint64 n;
  if (!g_ascii_string_to_unsigned (number, 10, 1, G_MAXINT, &n, NULL))
    return FALSE;
  *out = n;
  return TRUE;
}
