/* Unit tests for the boot menus: which generations a menu keeps, the entry
 * text of each backend, and gen_boot_sync (src/gen-boot*.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-boot.h"
#include "gen-sysroot.h"
#include "gen-util.h"

typedef struct
{
  char *dir;
  GenSysroot *sysroot;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-boot-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_prepare (f->dir, "demo", &error));
  g_assert_no_error (error);
  f->sysroot = gen_sysroot_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gen_sysroot_free (f->sysroot);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->dir);
}

static GenGeneration *
make_generation (guint n)
{
  GenGeneration *g = gen_generation_new ();
  g->number = n;
  g->date = g_strdup_printf ("2026-11-%02uT01:02:03Z", n);
  g->os = g_strdup ("demo");
  g->release_checksum = g_strnfill (64, 'a' + n % 6);
  g->release_version = g_strdup_printf ("%u.0", n);
  g->kernel_version = g_strdup ("6.1.0");
  g->kernel_dir = g_strdup ("demo/6.1.0-0123456789abcdef");
  g->has_initrd = TRUE;
  g->kernel_args = g_strsplit ("console=ttyS0 root=LABEL=gen-root", " ", -1);
  g->manifest_path = g_strdup ("/srv/m.json");
  g->config_digest = g_strnfill (64, 'c');
  g->boot_loader = g_strdup ("systemd-boot");
  return g;
}

static GPtrArray *
make_generations (guint n)
{
  GPtrArray *gens = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_generation_free);
  for (guint i = 1; i <= n; i++)
    g_ptr_array_add (gens, make_generation (i));
  return gens;
}

/* "6 5 3" : the generations of the menu, in menu order. */
static char *
menu_numbers (GenBootMenu *menu)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < menu->entries->len; i++)
    {
      GenBootEntry *e = menu->entries->pdata[i];
      g_string_append_printf (s, "%s%u", i ? " " : "", e->generation->number);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_entry (void)
{
  g_autoptr (GPtrArray) gens = make_generations (3);
  g_autoptr (GError) error = NULL;
  g_autoptr (GenBootMenu) menu = gen_boot_menu_new ("demo", gens, 3, 3, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *name = gen_boot_entry_name ("demo", 3);
  g_assert_cmpstr (name, ==, "demo-3.conf");
  g_autofree char *a = g_strnfill (64, 'd');
  g_autofree char *expected = g_strdup_printf (
      "title demo, generation 3 (release 3.0, 2026-11-03)\n"
      "version 3\n"
      "sort-key demo\n"
      "linux /demo/6.1.0-0123456789abcdef/vmlinuz\n"
      "initrd /demo/6.1.0-0123456789abcdef/initrd.img\n"
      "options console=ttyS0 root=LABEL=gen-root gen.os=demo gen.generation=3 gen.release=%s "
      "gen.fallback=2\n",
      a);
  g_autofree char *text = gen_boot_entry_text (gen_boot_menu_lookup (menu, 3));
  g_assert_cmpstr (text, ==, expected);

  /* The oldest entry has no fallback; without a version or an initramfs. */
  GenGeneration *g1 = gens->pdata[0];
  g_clear_pointer (&g1->release_version, g_free);
  g1->has_initrd = FALSE;
  g_autoptr (GenBootMenu) menu2 = gen_boot_menu_new ("demo", gens, 3, 3, NULL, &error);
  g_autofree char *text1 = gen_boot_entry_text (gen_boot_menu_lookup (menu2, 1));
  g_assert_true (
      g_str_has_prefix (text1, "title demo, generation 1 (release bbbbbbbbbb, 2026-11-01)\n"));
  g_assert_null (strstr (text1, "initrd"));
  g_assert_null (strstr (text1, "gen.fallback"));
}

static void
test_limit (void)
{
  g_autoptr (GPtrArray) gens = make_generations (6);
  g_autoptr (GError) error = NULL;
  /* No limit: every generation, newest first, each falling back to the next. */
  g_autoptr (GenBootMenu) all = gen_boot_menu_new ("demo", gens, 6, 6, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *n_all = menu_numbers (all);
  g_assert_cmpstr (n_all, ==, "6 5 4 3 2 1");
  g_assert_cmpuint (all->default_entry->generation->number, ==, 6);
  g_assert_cmpuint (gen_boot_menu_lookup (all, 4)->fallback, ==, 3);
  g_assert_cmpuint (gen_boot_menu_lookup (all, 1)->fallback, ==, 0);

  /* The limit is the default generation's: 2 newest, plus the default (3)
   * and the current one (2) whatever their age. */
  GenGeneration *g3 = gens->pdata[2];
  g3->boot_limit = 2;
  g_autoptr (GenBootMenu) limited = gen_boot_menu_new ("demo", gens, 3, 2, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *n_limited = menu_numbers (limited);
  g_assert_cmpstr (n_limited, ==, "6 5 3 2");
  g_assert_cmpuint (gen_boot_menu_lookup (limited, 5)->fallback, ==, 3);
  g_assert_cmpuint (gen_boot_menu_lookup (limited, 2)->fallback, ==, 0);
  g_assert_null (gen_boot_menu_lookup (limited, 4));
  g_assert_null (strstr (gen_boot_menu_lookup (limited, 2)->cmdline, "gen.fallback"));

  /* Pinned generations stay too. */
  const guint pinned[] = { 1, 0 };
  g_autoptr (GenBootMenu) with_pin = gen_boot_menu_new ("demo", gens, 3, 3, pinned, &error);
  g_autofree char *n_pin = menu_numbers (with_pin);
  g_assert_cmpstr (n_pin, ==, "6 5 3 1");

  /* The limit of another generation does not count. */
  g_autoptr (GenBootMenu) other = gen_boot_menu_new ("demo", gens, 6, 6, NULL, &error);
  g_autofree char *n_other = menu_numbers (other);
  g_assert_cmpstr (n_other, ==, "6 5 4 3 2 1");

  g_assert_null (gen_boot_menu_new ("demo", gens, 9, 6, NULL, &error));
  g_assert_cmpstr (error->message, ==, "the boot default, generation 9, does not exist");
}

static void
test_grub (void)
{
  g_autoptr (GPtrArray) gens = make_generations (3);
  GenGeneration *g2 = gens->pdata[1];
  g_free (g2->release_version);
  g2->release_version = g_strdup ("2.0 'beta'");
  g_autoptr (GError) error = NULL;
  g_autoptr (GenBootMenu) menu = gen_boot_menu_new ("demo", gens, 2, 2, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *text = gen_boot_grub_text (menu);
  g_autofree char *b = g_strnfill (64, 'c'), *c = g_strnfill (64, 'd'), *a = g_strnfill (64, 'b');
  g_autofree char *expected = g_strdup_printf (
      "# written by gen from demo's generations; gen rewrites it on every switch\n"
      "# and rollback (docs/booting.md): edits are lost.\n"
      "set default=0\n"
      "set timeout=3\n"
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
      "fi\n"
      "menuentry 'demo, generation 2 (release 2.0 '\\''beta'\\'', 2026-11-02)' --id 'demo-2' {\n"
      "\tsearch --no-floppy --set=root --file '/demo/6.1.0-0123456789abcdef/vmlinuz'\n"
      "\tprobe --set=gen_esp --fs-uuid \"${root}\"\n"
      "\tlinux '/demo/6.1.0-0123456789abcdef/vmlinuz' 'console=ttyS0' 'root=LABEL=gen-root' "
      "'gen.os=demo' 'gen.generation=2' 'gen.release=%s' 'gen.fallback=1' \"gen.esp=UUID=${gen_esp}\"\n"
      "\tinitrd '/demo/6.1.0-0123456789abcdef/initrd.img'\n"
      "}\n"
      "submenu 'demo, other generations' --id 'demo-other' {\n"
      "\tmenuentry 'demo, generation 3 (release 3.0, 2026-11-03)' --id 'demo-3' {\n"
      "\t\tsearch --no-floppy --set=root --file '/demo/6.1.0-0123456789abcdef/vmlinuz'\n"
      "\t\tprobe --set=gen_esp --fs-uuid \"${root}\"\n"
      "\t\tlinux '/demo/6.1.0-0123456789abcdef/vmlinuz' 'console=ttyS0' 'root=LABEL=gen-root' "
      "'gen.os=demo' 'gen.generation=3' 'gen.release=%s' 'gen.fallback=2' \"gen.esp=UUID=${gen_esp}\"\n"
      "\t\tinitrd '/demo/6.1.0-0123456789abcdef/initrd.img'\n"
      "\t}\n"
      "\tmenuentry 'demo, generation 1 (release 1.0, 2026-11-01)' --id 'demo-1' {\n"
      "\t\tsearch --no-floppy --set=root --file '/demo/6.1.0-0123456789abcdef/vmlinuz'\n"
      "\t\tlinux '/demo/6.1.0-0123456789abcdef/vmlinuz' 'console=ttyS0' 'root=LABEL=gen-root' "
      "'gen.os=demo' 'gen.generation=1' 'gen.release=%s'\n"
      "\t\tinitrd '/demo/6.1.0-0123456789abcdef/initrd.img'\n"
      "\t}\n"
      "}\n",
      b, c, a);
  g_assert_cmpstr (text, ==, expected);

  /* One generation: no submenu. */
  g_ptr_array_set_size (gens, 1);
  g_autoptr (GenBootMenu) one = gen_boot_menu_new ("demo", gens, 1, 1, NULL, &error);
  g_autofree char *text1 = gen_boot_grub_text (one);
  g_assert_null (strstr (text1, "submenu"));
  g_assert_nonnull (strstr (text1, "--id 'demo-1'"));
  /* No fallback, no ESP to write it on. */
  g_assert_null (strstr (text1, "gen.esp="));

  /* The environment block: grub-editenv's empty one, 1024 bytes. */
  g_autofree char *env = gen_boot_grub_env_text ();
  g_assert_cmpuint (strlen (env), ==, 1024);
  g_assert_true (g_str_has_prefix (env, "# GRUB Environment Block\n###"));
  g_assert_true (g_str_has_suffix (env, "####"));
}

static void
test_extlinux (void)
{
  g_autoptr (GPtrArray) gens = make_generations (2);
  ((GenGeneration *) gens->pdata[0])->has_initrd = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GenBootMenu) menu = gen_boot_menu_new ("demo", gens, 1, 1, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *text = gen_boot_extlinux_text (menu);
  g_autofree char *a = g_strnfill (64, 'b'), *b = g_strnfill (64, 'c');
  g_autofree char *expected = g_strdup_printf (
      "# written by gen from demo's generations; gen rewrites it on every switch\n"
      "# and rollback (docs/booting.md): edits are lost.\n"
      "MENU TITLE demo\n"
      "PROMPT 1\n"
      "TIMEOUT 30\n"
      "DEFAULT demo-1\n"
      "\n"
      "LABEL demo-2\n"
      "\tMENU LABEL demo, generation 2 (release 2.0, 2026-11-02)\n"
      "\tLINUX /demo/6.1.0-0123456789abcdef/vmlinuz\n"
      "\tINITRD /demo/6.1.0-0123456789abcdef/initrd.img\n"
      "\tAPPEND console=ttyS0 root=LABEL=gen-root gen.os=demo gen.generation=2 gen.release=%s "
      "gen.fallback=1\n"
      "\n"
      "LABEL demo-1\n"
      "\tMENU LABEL demo, generation 1 (release 1.0, 2026-11-01)\n"
      "\tLINUX /demo/6.1.0-0123456789abcdef/vmlinuz\n"
      "\tAPPEND console=ttyS0 root=LABEL=gen-root gen.os=demo gen.generation=1 gen.release=%s\n",
      b, a);
  g_assert_cmpstr (text, ==, expected);
}

/* Writes generation @g's record as a committed generation would have it. */
static void
write_record (Fixture *f, GenGeneration *g)
{
  g_autofree char *dir = g_strdup_printf ("%s/gen/generations/%u", f->dir, g->number);
  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autofree char *path = g_build_filename (dir, "generation.json", NULL);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
}

static char *
read_file (Fixture *f, const char *path)
{
  return gen_read_file_at (f->sysroot->dfd, path, NULL, NULL);
}

static void
test_sync (Fixture *f, gconstpointer data)
{
  int dfd = f->sysroot->dfd;
  for (guint n = 1; n <= 3; n++)
    {
      g_autoptr (GenGeneration) g = make_generation (n);
      if (n == 3)
        {
          g_free (g->boot_loader);
          g->boot_loader = g_strdup ("grub");
          g->boot_limit = 1;
        }
      write_record (f, g);
    }
  /* Not gen's: kept whatever happens. */
  g_assert_true (
      gen_write_file_at (dfd, "boot/loader/entries/windows.conf", "title W\n", 8, 0644, NULL));
  g_assert_true (
      gen_write_file_at (dfd, "boot/loader/entries/demo-x.conf", "title X\n", 8, 0644, NULL));
  g_assert_true (
      gen_write_file_at (dfd, "boot/loader/entries/demo2-1.conf", "title Y\n", 8, 0644, NULL));

  /* Generation 2 (systemd-boot, no limit) is the default: entries, loader.conf, nothing else. */
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 2, 2, 3, &error));
  g_assert_no_error (error);
  for (guint n = 1; n <= 3; n++)
    {
      g_autofree char *entry = g_strdup_printf ("boot/loader/entries/demo-%u.conf", n);
      g_autofree char *text = read_file (f, entry);
      g_autofree char *title = g_strdup_printf ("title demo, generation %u (release %u.0, ", n, n);
      g_assert_nonnull (text);
      g_assert_true (g_str_has_prefix (text, title));
    }
  g_autofree char *loader = read_file (f, "boot/loader/loader.conf");
  g_assert_cmpstr (loader, ==,
                   "# written by gen; gen rewrites it on every switch\n"
                   "default demo-2.conf\n"
                   "timeout 3\n");
  g_assert_false (gen_exists_at (dfd, "boot/grub/grub.cfg"));
  g_assert_false (gen_exists_at (dfd, "boot/extlinux/extlinux.conf"));

  /* Generation 3 (grub, limit 1) becomes the default: grub.cfg too, and the
   * menu keeps 3 and the current generation, 2. */
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 2, 3, 3, &error));
  g_assert_no_error (error);
  g_autofree char *grub = read_file (f, "boot/grub/grub.cfg");
  g_assert_nonnull (grub);
  g_assert_nonnull (
      strstr (grub, "menuentry 'demo, generation 3 (release 3.0, 2026-11-03)' --id 'demo-3'"));
  g_assert_nonnull (strstr (grub, "--id 'demo-2'"));
  g_assert_null (strstr (grub, "--id 'demo-1'"));
  /* Beside it, the environment block the boot hook writes next_entry in. */
  g_autofree char *env = read_file (f, "boot/grub/grubenv");
  g_autofree char *empty_env = gen_boot_grub_env_text ();
  g_assert_cmpstr (env, ==, empty_env);
  g_assert_false (gen_exists_at (dfd, "boot/loader/entries/demo-1.conf"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/demo-2.conf"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/windows.conf"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/demo-x.conf"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/demo2-1.conf"));
  g_autofree char *def = gen_boot_read_default (dfd);
  g_assert_cmpstr (def, ==, "demo-3.conf");

  /* Back to generation 1 (systemd-boot, no limit): its entry comes back, and
   * the grub.cfg gen wrote is kept in step rather than left stale. */
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 1, 1, 3, &error));
  g_assert_no_error (error);
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/demo-1.conf"));
  g_autofree char *grub2 = read_file (f, "boot/grub/grub.cfg");
  g_assert_true (g_str_has_prefix (strstr (grub2, "menuentry"), "menuentry 'demo, generation 1"));
  g_assert_nonnull (strstr (grub2, "--id 'demo-3'"));

  /* Files already right are not rewritten. */
  struct stat before, after;
  g_assert_no_errno (fstatat (dfd, "boot/grub/grub.cfg", &before, 0));
  g_assert_true (gen_boot_sync (f->sysroot, &error));
  g_assert_no_errno (fstatat (dfd, "boot/grub/grub.cfg", &after, 0));
  g_assert_cmpuint (before.st_ino, ==, after.st_ino);

  /* The environment block belongs to GRUB and the boot hook once it exists:
   * a rewrite of the menus leaves what they wrote in it. */
  g_autofree char *set_env = g_strdup (empty_env);
  memcpy (set_env + strlen ("# GRUB Environment Block\n"), "next_entry=demo-1\n", 18);
  g_assert_true (gen_write_file_at (dfd, "boot/grub/grubenv", set_env, 1024, 0644, NULL));
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 3, 3, 3, &error));
  g_assert_no_error (error);
  g_autofree char *env2 = read_file (f, "boot/grub/grubenv");
  g_assert_cmpstr (env2, ==, set_env);

  /* A default generation whose record is gone: the menus stay as they are. */
  g_assert_true (gen_rm_rf_at (dfd, "gen/generations/2", NULL));
  g_autofree char *loader_before = read_file (f, "boot/loader/loader.conf");
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 2, 2, 3, &error));
  g_assert_no_error (error);
  g_autofree char *loader_after = read_file (f, "boot/loader/loader.conf");
  g_assert_cmpstr (loader_after, ==, loader_before);
  g_autoptr (GenGeneration) g2 = make_generation (2);
  write_record (f, g2);

  /* A grub.cfg gen did not write is left alone. */
  g_assert_true (gen_write_file_at (dfd, "boot/grub/grub.cfg", "set timeout=9\n", 14, 0644, NULL));
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 2, 2, 3, &error));
  g_autofree char *grub3 = read_file (f, "boot/grub/grub.cfg");
  g_assert_cmpstr (grub3, ==, "set timeout=9\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/boot/entry", test_entry);
  g_test_add_func ("/boot/limit", test_limit);
  g_test_add_func ("/boot/grub", test_grub);
  g_test_add_func ("/boot/extlinux", test_extlinux);
  g_test_add ("/boot/sync", Fixture, NULL, setup, test_sync, teardown);
  return g_test_run ();
}
