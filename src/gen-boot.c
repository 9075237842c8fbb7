/* gen-boot.c: the boot menu every backend writes, and gen_boot_sync(). */
#include "gen-boot-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-pin.h"
#include "gen-util.h"

const char *const gen_boot_loader_names[] = { "systemd-boot", "grub", "extlinux", NULL };

static const GenBootBackend *const backends[] = {
  &gen_boot_backend_systemd_boot,
  &gen_boot_backend_grub,
  &gen_boot_backend_extlinux,
};

static void
entry_free (GenBootEntry *e)
{
  g_free (e->title);
  g_free (e->cmdline);
  g_free (e);
}

void
gen_boot_menu_free (GenBootMenu *menu)
{
  if (!menu)
    return;
  g_free (menu->os);
  g_free (menu->loader);
  g_clear_pointer (&menu->entries, g_ptr_array_unref);
  g_clear_pointer (&menu->generations, g_ptr_array_unref);
  g_free (menu);
}

static char *
entry_title (GenGeneration *g)
{
  char buf[11];
  g_autofree char *day = g->date ? g_strndup (g->date, 10) : g_strdup ("unknown date");
  return g_strdup_printf ("%s, generation %u (release %s, %s)", g->os, g->number,
                          gen_generation_release_label (g, buf), day);
}

static gboolean
is_pinned (const guint *pinned, guint number)
{
  for (const guint *p = pinned; p && *p; p++)
    if (*p == number)
      return TRUE;
  return FALSE;
}

/* Whether the menu keeps generation @number, the @newer_count-th newest
 * (from 0): the newest `limit` generations, then whatever must stay bootable
 * whatever its age: the default, the current one (the system the operator
 * knows works) and pinned ones. */
static gboolean
menu_keeps (guint newer_count, guint number, guint limit, guint default_gen, guint current,
            const guint *pinned)
{
  return limit == 0 || newer_count < limit || number == default_gen || number == current
         || is_pinned (pinned, number);
}

/* The menu of the generations @numbers (@n of them, ascending) when @def is
 * the boot default: its entries, newest first, with their numbers and
 * fallbacks only (none ready). */
static GenBootMenu *
menu_build (const char *os, const guint *numbers, guint n, GenGeneration *def, guint current,
            const guint *pinned)
{
  GenBootMenu *menu = g_new0 (GenBootMenu, 1);
  menu->os = g_strdup (os);
  menu->loader = g_strdup (def->boot_loader ? def->boot_loader : gen_boot_loader_names[0]);
  menu->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  for (guint i = n; i > 0; i--)
    {
      guint number = numbers[i - 1];
      if (!menu_keeps (n - i, number, def->boot_limit, def->number, current, pinned))
        continue;
      GenBootEntry *e = g_new0 (GenBootEntry, 1);
      e->number = number;
      g_ptr_array_add (menu->entries, e);
      if (number == def->number)
        menu->default_entry = e;
    }
  /* Each entry falls back to the next older one in the menu: the boot hook
   * asks the boot loader for it when this generation cannot start. */
  for (guint i = 0; i + 1 < menu->entries->len; i++)
    ((GenBootEntry *) menu->entries->pdata[i])->fallback
        = ((GenBootEntry *) menu->entries->pdata[i + 1])->number;
  return menu;
}

/* Makes @e ready with its record @g. */
static void
entry_fill (GenBootEntry *e, GenGeneration *g)
{
  e->generation = g;
  e->title = entry_title (g);
  g_autofree char *base = gen_generation_kernel_cmdline (g);
  e->cmdline = e->fallback ? g_strdup_printf ("%s gen.fallback=%u", base, e->fallback)
                           : g_steal_pointer (&base);
}

static gint
ascending (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y ? 1 : 0;
}

GenBootMenu *
gen_boot_menu_new (const char *os, GPtrArray *generations, guint default_gen, guint current,
                   const guint *pinned, GError **error)
{
  g_autoptr (GHashTable) by_number = g_hash_table_new (NULL, NULL);
  g_autoptr (GArray) numbers = g_array_sized_new (FALSE, FALSE, sizeof (guint), generations->len);
  for (guint i = 0; i < generations->len; i++)
    {
      GenGeneration *g = generations->pdata[i];
      g_hash_table_insert (by_number, GUINT_TO_POINTER (g->number), g);
      g_array_append_val (numbers, g->number);
    }
  g_array_sort (numbers, ascending);
  GenGeneration *def = g_hash_table_lookup (by_number, GUINT_TO_POINTER (default_gen));
  if (!def)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "the boot default, generation %u, does not exist", default_gen);
      return NULL;
    }
  GenBootMenu *menu
      = menu_build (os, (const guint *) numbers->data, numbers->len, def, current, pinned);
  menu->generations = g_ptr_array_ref (generations);
  for (guint i = 0; i < menu->entries->len; i++)
    {
      GenBootEntry *e = menu->entries->pdata[i];
      entry_fill (e, g_hash_table_lookup (by_number, GUINT_TO_POINTER (e->number)));
    }
  return menu;
}

gboolean
gen_boot_menu_ready (GenBootMenu *menu, GenBootEntry *entry, GError **error)
{
  if (!entry)
    {
      for (guint i = 0; i < menu->entries->len; i++)
        if (!gen_boot_menu_ready (menu, menu->entries->pdata[i], error))
          return FALSE;
      return TRUE;
    }
  if (entry->generation)
    return TRUE;
  GenGeneration *g
      = menu->sysroot ? gen_sysroot_listed_generation (menu->sysroot, entry->number) : NULL;
  if (!g)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "generation %u has no record", entry->number);
      return FALSE;
    }
  entry_fill (entry, g);
  return TRUE;
}

GenBootEntry *
gen_boot_menu_lookup (GenBootMenu *menu, guint number)
{
  for (guint i = 0; i < menu->entries->len; i++)
    {
      GenBootEntry *e = menu->entries->pdata[i];
      if (e->number == number)
        return e;
    }
  return NULL;
}

gboolean
gen_boot_write_file (int dfd, GenIndex *index, const char *path, const char *text,
                     const guint8 *from, GError **error)
{
  if (index && gen_index_file_holds (index, dfd, path, text))
    {
      if (from) /* so that the next run need not make @text to know */
        gen_index_note_file (index, dfd, path, text, from);
      return TRUE;
    }
  g_autofree char *old = gen_read_file_at (dfd, path, NULL, NULL);
  if (!old || !g_str_equal (old, text))
    {
      g_autofree char *dir = g_path_get_dirname (path);
      if (!gen_mkdir_p_at (dfd, dir, 0755, error)
          || !gen_write_file_at (dfd, path, text, strlen (text), 0644, error))
        return FALSE;
    }
  if (index)
    gen_index_note_file (index, dfd, path, text, from);
  return TRUE;
}

/* TRUE when gen wrote @path before: then it is kept up to date.  Reads only
 * the first bytes: a menu of 1,000 generations is large. */
static gboolean
written_by_gen (int dfd, const char *path)
{
  gen_autofd fd = openat (dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return FALSE;
  char head[sizeof GEN_BOOT_HEADER - 1];
  gsize got = 0;
  while (got < sizeof head)
    {
      ssize_t n = read (fd, head + got, sizeof head - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      got += n;
    }
  return memcmp (head, GEN_BOOT_HEADER, sizeof head) == 0;
}

gboolean
gen_boot_sync (GenSysroot *sysroot, GError **error)
{
  return gen_boot_sync_without (sysroot, NULL, error);
}

/* The digest of what the systemd-boot entries of the menu hold, from the
 * committed generations @numbers (ascending) alone: each entry's text follows
 * from its generation's record (the same while its folder keeps its inode:
 * records are never rewritten) and from the next older entry (its fallback). */
static void
menu_key (GenSysroot *sysroot, GArray *numbers, guint limit, const guint *pinned, guint8 out[32])
{
  GenIndex *index = gen_sysroot_index (sysroot);
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  guint32 format = GEN_BOOT_ENTRY_FORMAT;
  g_checksum_update (c, (const guchar *) "entries", -1);
  g_checksum_update (c, (const guchar *) &format, sizeof format);
  g_checksum_update (c, (const guchar *) sysroot->os, strlen (sysroot->os) + 1);
  for (guint i = numbers->len; i > 0; i--)
    {
      guint n = g_array_index (numbers, guint, i - 1);
      if (!menu_keeps (numbers->len - i, n, limit, sysroot->default_gen, sysroot->current, pinned))
        continue;
      guint64 v[2] = { n, gen_index_folder_ino (index, n) };
      g_checksum_update (c, (const guchar *) v, sizeof v);
    }
  gsize len = 32;
  g_checksum_get_digest (c, out, &len);
}

gboolean
gen_boot_sync_without (GenSysroot *sysroot, const guint *without, GError **error)
{
  if (!sysroot->os || sysroot->default_gen == 0)
    return TRUE;
  g_autoptr (GArray) numbers = gen_sysroot_generation_numbers (sysroot, error);
  if (!numbers)
    return FALSE;
  for (guint i = numbers->len; i > 0; i--)
    if (gen_pins_contains (without, g_array_index (numbers, guint, i - 1)))
      g_array_remove_index (numbers, i - 1);
  g_autofree guint *pins = gen_pins_load (sysroot, error);
  if (!pins)
    return FALSE;
  /* A default whose record is gone (removed by hand): leave the menus as they
   * are, so that a rollback to another generation can still repair them. */
  GenGeneration *def = gen_pins_contains (without, sysroot->default_gen)
                           ? NULL
                           : gen_sysroot_listed_generation (sysroot, sysroot->default_gen);
  if (!def)
    {
      g_debug ("boot menus left alone: generation %u has no record", sysroot->default_gen);
      return TRUE;
    }
  const char *loader = def->boot_loader ? def->boot_loader : gen_boot_loader_names[0];
  gboolean others = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    if (backends[i]->path
        && (g_str_equal (loader, backends[i]->name)
            || written_by_gen (sysroot->dfd, backends[i]->path)))
      others = TRUE;

  /* The entries are as this menu would write them, and nothing changed in
   * their folder since they were: only loader.conf can differ.  Neither
   * records nor texts are needed to know that. */
  GenIndex *index = gen_sysroot_index (sysroot);
  guint8 key[32];
  menu_key (sysroot, numbers, def->boot_limit, pins, key);
  const guint8 *known = gen_index_menu_key (index);
  if (!others && known && memcmp (known, key, sizeof key) == 0
      && gen_index_dir_trusted (index, sysroot->dfd, "menu"))
    return gen_boot_write_loader_conf (sysroot->dfd, sysroot->os, sysroot->default_gen, error);

  /* Entries are made ready only when written (gen_boot_menu_ready()). */
  g_autoptr (GenBootMenu) menu = menu_build (sysroot->os, (const guint *) numbers->data,
                                             numbers->len, def, sysroot->current, pins);
  menu->sysroot = sysroot;
  menu->index = index;

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    {
      const GenBootBackend *b = backends[i];
      gboolean wanted = b->path == NULL || g_str_equal (menu->loader, b->name)
                        || written_by_gen (sysroot->dfd, b->path);
      if (wanted && !b->write (sysroot->dfd, menu, error))
        {
          g_prefix_error (error, "writing the %s menu: ", b->name);
          return FALSE;
        }
    }
  /* Last: no menu names a removed entry any more. */
  if (!gen_boot_systemd_boot_prune (sysroot->dfd, menu, error))
    return FALSE;
  GenDirStamp st;
  if (gen_index_dir_stamp (sysroot->dfd, GEN_ENTRIES_DIR, &st))
    {
      gen_index_set_menu_key (index, key);
      gen_index_record_dir (index, "menu", GEN_ENTRIES_DIR, &st);
    }
  return TRUE;
}

gboolean
gen_boot_write_pending_entry (GenSysroot *sysroot, GenGeneration *g, guint current, GError **error)
{
  g_autoptr (GArray) numbers = gen_sysroot_generation_numbers (sysroot, error);
  if (!numbers)
    return FALSE;
  g_array_append_val (numbers, g->number); /* the newest */
  g_autofree guint *pins = gen_pins_load (sysroot, error);
  if (!pins)
    return FALSE;
  g_autoptr (GenBootMenu) menu
      = menu_build (g->os, (const guint *) numbers->data, numbers->len, g, current, pins);
  GenBootEntry *e = menu->default_entry;
  entry_fill (e, g);
  g_autofree char *name = gen_boot_entry_name (g->os, g->number);
  g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, name, NULL);
  g_autofree char *text = gen_boot_entry_text (e);
  /* Not noted as made from its folder: that is still under gen/tmp. */
  return gen_boot_write_file (sysroot->dfd, gen_sysroot_index (sysroot), path, text, NULL, error);
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
