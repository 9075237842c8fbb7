/* gen-boot-systemd-boot.c: BLS Type #1 entries and loader.conf under
 * DIR/boot/loader, as the Boot Loader Specification and PRODUCT.md describe.
 * systemd-boot reads them as they are; they are also gen's own record of the
 * menu, so they are written whatever boot.loader says. */
#include "gen-boot-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "gen-util.h"

char *
gen_boot_entry_name (const char *os, guint number)
{
  return g_strdup_printf ("%s-%u.conf", os, number);
}

char *
gen_boot_entry_text (GenBootEntry *e)
{
  GenGeneration *g = e->generation;
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "title %s\n", e->title);
  /* BLS sorts entries by version, newest first: the generation number keeps
   * the menu in generation order whatever the release versions are. */
  g_string_append_printf (s, "version %u\n", g->number);
  g_string_append_printf (s, "sort-key %s\n", g->os);
  g_string_append_printf (s, "linux /%s/vmlinuz\n", g->kernel_dir);
  if (g->has_initrd)
    g_string_append_printf (s, "initrd /%s/initrd.img\n", g->kernel_dir);
  g_string_append_printf (s, "options %s\n", e->cmdline);
  return g_string_free (g_steal_pointer (&s), FALSE);
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
  g_autofree char *text = g_strdup_printf (GEN_BOOT_HEADER "; gen rewrites it on every switch\n"
                                                           "default %s\n"
                                                           "timeout %d\n",
                                           entry, GEN_BOOT_TIMEOUT);
  return gen_write_file_at (sysroot_dfd, GEN_LOADER_CONF, text, strlen (text), 0644, error);
}

/* What an entry's text is made from, besides the entry format: its
 * generation's record (the same while its folder keeps its inode: records
 * are never rewritten) and its fallback.  FALSE when the folder is unknown. */
static gboolean
entry_from (GenBootMenu *menu, GenBootEntry *e, guint8 out[GEN_INDEX_FROM_LEN])
{
  guint64 ino = menu->index ? gen_index_folder_ino (menu->index, e->number) : 0;
  if (ino == 0)
    return FALSE;
  guint32 rest[2] = { e->fallback, GEN_BOOT_ENTRY_FORMAT };
  G_STATIC_ASSERT (sizeof ino + sizeof rest == GEN_INDEX_FROM_LEN);
  memcpy (out, &ino, sizeof ino);
  memcpy (out + sizeof ino, rest, sizeof rest);
  return TRUE;
}

static gboolean
write_menu (int dfd, GenBootMenu *menu, GError **error)
{
  /* Every entry before loader.conf names one of them.  An entry file noted
   * as made from the same inputs is left alone unread, and its entry is not
   * made ready: adding one generation to a menu of 1,000 reads one record. */
  for (guint i = 0; i < menu->entries->len; i++)
    {
      GenBootEntry *e = menu->entries->pdata[i];
      g_autofree char *name = gen_boot_entry_name (menu->os, e->number);
      g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, name, NULL);
      guint8 from[GEN_INDEX_FROM_LEN];
      gboolean known_from = entry_from (menu, e, from);
      if (known_from && gen_index_file_made_from (menu->index, dfd, path, from))
        continue;
      if (!gen_boot_menu_ready (menu, e, error))
        return FALSE;
      g_autofree char *text = gen_boot_entry_text (e);
      if (!gen_boot_write_file (dfd, menu->index, path, text, known_from ? from : NULL, error))
        return FALSE;
    }
  return gen_boot_write_loader_conf (dfd, menu->os, menu->default_entry->number, error);
}

/* The generation number of an entry file of @os ("<os>-<N>.conf"), or 0. */
static guint
entry_number (const char *os, const char *name)
{
  gsize len = strlen (os);
  if (strncmp (name, os, len) != 0 || name[len] != '-' || !g_str_has_suffix (name, ".conf"))
    return 0;
  g_autofree char *digits = g_strndup (name + len + 1, strlen (name) - len - 1 - strlen (".conf"));
  guint64 n;
  if (!g_ascii_string_to_unsigned (digits, 10, 1, G_MAXINT, &n, NULL))
    return 0;
  return n;
}

gboolean
gen_boot_systemd_boot_prune (int dfd, GenBootMenu *menu, GError **error)
{
  gen_autofd fd = openat (dfd, GEN_ENTRIES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? TRUE : gen_throw_errno (error, "opening '%s'", GEN_ENTRIES_DIR);
  int dup_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (!d)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return gen_throw_errno (error, "reading '%s'", GEN_ENTRIES_DIR);
    }
  /* A set, not gen_boot_menu_lookup(): a menu may have 1,000 entries. */
  g_autoptr (GHashTable) kept = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < menu->entries->len; i++)
    g_hash_table_add (
        kept, GUINT_TO_POINTER (((GenBootEntry *) menu->entries->pdata[i])->number));
  g_autoptr (GPtrArray) stale = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      guint n = entry_number (menu->os, de->d_name);
      if (n && !g_hash_table_contains (kept, GUINT_TO_POINTER (n)))
        g_ptr_array_add (stale, g_strdup (de->d_name));
    }
  closedir (d);
  for (guint i = 0; i < stale->len; i++)
    {
      if (unlinkat (fd, stale->pdata[i], 0) < 0 && errno != ENOENT)
        return gen_throw_errno (error, "removing '%s/%s'", GEN_ENTRIES_DIR,
                                (char *) stale->pdata[i]);
      if (menu->index)
        {
          g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, stale->pdata[i], NULL);
          gen_index_forget_file (menu->index, path);
        }
    }
  if (stale->len > 0 && fsync (fd) < 0)
    return gen_throw_errno (error, "syncing '%s'", GEN_ENTRIES_DIR);
  return TRUE;
}

const GenBootBackend gen_boot_backend_systemd_boot = {
  .name = "systemd-boot",
  .path = NULL,
  .write = write_menu,
};
