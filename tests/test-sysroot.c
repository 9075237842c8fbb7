/* Unit tests for the generation store: sysroot state, generation records,
 * cleanup and the lock (src/gen-sysroot.c, gen-generation.c, gen-activate.c).
 * The boot menus are in test-boot.c. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gen-activate.h"
#include "gen-boot.h"
#include "gen-data.h"
#include "gen-error.h"
#include "gen-sysroot.h"
#include "gen-util.h"

typedef struct {
  char *dir;
  GenSysroot *sysroot;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-sysroot-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_prepare (f->dir, "demo", &error));
  g_assert_no_error (error);
  f->sysroot = gen_sysroot_open (f->dir, &error);
  g_assert_no_error (error);
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
  g->date = g_strdup ("2026-11-28T01:02:03Z");
  g->os = g_strdup ("demo");
  g->release_checksum = g_strnfill (64, 'a');
  g->release_version = g_strdup ("2.0");
  g->kernel_version = g_strdup ("6.1.0");
  g->kernel_dir = g_strdup ("demo/6.1.0-0123456789abcdef");
  g->has_initrd = TRUE;
  g->kernel_args = g_strsplit ("console=ttyS0 quiet", " ", -1);
  g->manifest_path = g_strdup ("/srv/m.json");
  g->config_digest = g_strnfill (64, 'c');
  return g;
}

/* Writes a committed-looking generation folder (record only) and a stand-in
 * for its entry (gen_boot_sync writes the real one). */
static void
write_generation (Fixture *f, guint n)
{
  g_autoptr (GenGeneration) g = make_generation (n);
  g_autofree char *dir = g_strdup_printf ("%s/gen/generations/%u", f->dir, n);
  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autofree char *path = g_build_filename (dir, "generation.json", NULL);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  g_autofree char *entry = g_strdup_printf ("boot/loader/entries/demo-%u.conf", n);
  g_assert_true (gen_write_file_at (f->sysroot->dfd, entry, "title stand-in\n", 15, 0644, NULL));
}

static void
test_uninitialised (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gen-test-empty-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GenSysroot) s = gen_sysroot_open (dir, &error);
  g_assert_null (s);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_NOT_INITIALIZED);
  g_assert_true (strstr (error->message, "is not a gen sysroot") != NULL);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, dir, NULL));
}

static void
test_prepare (Fixture *f, gconstpointer data)
{
  static const char *const dirs[] = { "gen/deploy", "gen/generations", "gen/tmp",
                                      "boot/loader/entries", "var" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    g_assert_true (gen_exists_at (f->sysroot->dfd, dirs[i]));
  g_assert_cmpstr (f->sysroot->os, ==, "demo");
  g_assert_cmpuint (f->sysroot->current, ==, 0);
  g_assert_cmpuint (f->sysroot->last, ==, 0);
  /* Preparing again keeps the state. */
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 0, 0, 5, NULL));
  g_assert_true (gen_sysroot_prepare (f->dir, "demo", NULL));
  g_assert_true (gen_sysroot_reload (f->sysroot, NULL));
  g_assert_cmpuint (f->sysroot->last, ==, 5);
}

static void
test_generation_json_roundtrip (void)
{
  g_autoptr (GenGeneration) g = make_generation (7);
  g->manifest_revision = g_strdup ("abc123");
  g->manifest_dirty = TRUE;
  g->boot_loader = g_strdup ("grub");
  g->boot_limit = 4;
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autoptr (GError) error = NULL;
  g_autoptr (GenGeneration) back = gen_generation_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->number, ==, 7);
  g_assert_cmpstr (back->date, ==, g->date);
  g_assert_cmpstr (back->release_checksum, ==, g->release_checksum);
  g_assert_cmpstr (back->release_version, ==, "2.0");
  g_assert_cmpstr (back->kernel_version, ==, "6.1.0");
  g_assert_cmpstr (back->kernel_dir, ==, g->kernel_dir);
  g_assert_true (back->has_initrd);
  g_assert_true (g_strv_equal ((const char *const *) back->kernel_args,
                               (const char *const *) g->kernel_args));
  g_assert_cmpstr (back->manifest_revision, ==, "abc123");
  g_assert_true (back->manifest_dirty);
  g_assert_cmpstr (back->config_digest, ==, g->config_digest);
  g_assert_cmpstr (back->boot_loader, ==, "grub");
  g_assert_cmpuint (back->boot_limit, ==, 4);
  g_assert_true (gen_generation_boot_equal (g, back));

  /* A record from before boot settings: the defaults. */
  g_autoptr (JsonNode) old = json_from_string (
      "{\"generation\": 2, \"os\": \"demo\", \"release\": {\"checksum\": \"aa\"}}", NULL);
  g_autoptr (GenGeneration) old_g = gen_generation_from_json (old, &error);
  g_assert_no_error (error);
  g_assert_null (old_g->boot_loader);
  g_assert_cmpuint (old_g->boot_limit, ==, 0);
  g_autoptr (GenGeneration) plain = make_generation (3);
  plain->boot_loader = g_strdup ("systemd-boot");
  g_assert_true (gen_generation_boot_equal (old_g, plain));
  plain->boot_limit = 2;
  g_assert_false (gen_generation_boot_equal (old_g, plain));

  g_autoptr (JsonNode) bad = json_from_string ("{\"generation\": 0}", NULL);
  g_assert_null (gen_generation_from_json (bad, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_FAILED);
}

static void
test_commit_state (Fixture *f, gconstpointer data)
{
  write_generation (f, 1);
  write_generation (f, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 1, 2, 2, &error));
  g_assert_no_error (error);
  g_autofree char *def = gen_boot_read_default (f->sysroot->dfd);
  g_assert_cmpstr (def, ==, "demo-2.conf");

  g_autoptr (GenSysroot) again = gen_sysroot_open (f->dir, &error);
  g_assert_cmpuint (again->current, ==, 1);
  g_assert_cmpuint (again->default_gen, ==, 2);
  g_assert_cmpuint (again->last, ==, 2);
  g_autoptr (GPtrArray) gens = gen_sysroot_list_generations (again, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gens->len, ==, 2);
  g_assert_cmpuint (((GenGeneration *) gens->pdata[1])->number, ==, 2);
}

/* Gives generation @n what booting it needs besides its record and entry:
 * its checkout, overlay, kernel and initramfs. */
static void
make_complete (Fixture *f, guint n)
{
  int dfd = f->sysroot->dfd;
  g_autofree char *deploy = g_strdup_printf ("gen/deploy/%064d", 0);
  memset (deploy + strlen ("gen/deploy/"), 'a', 64);
  g_autofree char *etc = g_strdup_printf ("gen/generations/%u/etc", n);
  g_assert_true (gen_mkdir_p_at (dfd, deploy, 0755, NULL));
  g_assert_true (gen_mkdir_p_at (dfd, etc, 0755, NULL));
  g_assert_true (gen_mkdir_p_at (dfd, "boot/demo/6.1.0-0123456789abcdef", 0755, NULL));
  if (!gen_exists_at (dfd, "boot/demo/6.1.0-0123456789abcdef/vmlinuz"))
    {
      g_assert_true (gen_write_new_file_at (dfd, "boot/demo/6.1.0-0123456789abcdef/vmlinuz", "k", 1, 0644, NULL));
      g_assert_true (gen_write_new_file_at (dfd, "boot/demo/6.1.0-0123456789abcdef/initrd.img", "i", 1, 0644, NULL));
    }
}

static void
test_cleanup (Fixture *f, gconstpointer data)
{
  write_generation (f, 1);
  make_complete (f, 1);
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 1, 1, 1, NULL));
  /* A killed run: generation 2 written but never committed, temporary files. */
  write_generation (f, 2);
  int dfd = f->sysroot->dfd;
  g_assert_true (gen_mkdir_p_at (dfd, "gen/tmp/generation-2/etc", 0755, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/loader/.loader.conf.tmp-0badf00d", "x", 1, 0644, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/loader/entries/.demo-2.conf.tmp-12345678", "x", 1, 0644, NULL));
  /* ...and killed between the state and loader.conf. */
  g_assert_true (gen_write_file_at (dfd, "boot/loader/loader.conf", "default demo-9.conf\n", 20, 0644, NULL));

  g_autoptr (GPtrArray) listed = gen_sysroot_list_generations (f->sysroot, NULL);
  g_assert_cmpuint (listed->len, ==, 1);

  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (gen_sysroot_cleanup (f->sysroot, removed, &error));
  g_assert_no_error (error);
  g_assert_false (gen_exists_at (dfd, "gen/tmp/generation-2"));
  g_assert_false (gen_exists_at (dfd, "gen/generations/2"));
  g_assert_false (gen_exists_at (dfd, "boot/loader/entries/demo-2.conf"));
  g_assert_false (gen_exists_at (dfd, "boot/loader/.loader.conf.tmp-0badf00d"));
  g_assert_false (gen_exists_at (dfd, "boot/loader/entries/.demo-2.conf.tmp-12345678"));
  g_assert_true (gen_exists_at (dfd, "gen/generations/1"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/demo-1.conf"));
  g_autofree char *def = gen_boot_read_default (dfd);
  g_assert_cmpstr (def, ==, "demo-1.conf");
  g_assert_cmpuint (removed->len, ==, 5);

  /* A cleanup killed after removing generation 3's folder, before its
   * entry: the entry alone is removed too. */
  g_assert_true (gen_write_new_file_at (dfd, "boot/loader/entries/demo-3.conf", "x", 1, 0644, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/loader/entries/demo-3+2-1.conf", "x", 1, 0644, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/loader/entries/other-3.conf", "x", 1, 0644, NULL));
  g_ptr_array_set_size (removed, 0);
  g_assert_true (gen_sysroot_cleanup (f->sysroot, removed, &error));
  g_assert_false (gen_exists_at (dfd, "boot/loader/entries/demo-3.conf"));
  g_assert_false (gen_exists_at (dfd, "boot/loader/entries/demo-3+2-1.conf"));
  g_assert_true (gen_exists_at (dfd, "boot/loader/entries/other-3.conf")); /* not gen's */
  g_assert_cmpuint (removed->len, ==, 2);

  /* loader.conf is put back in step only towards a complete generation. */
  g_assert_true (gen_rm_rf_at (dfd, "gen/generations/1/etc", NULL));
  g_assert_true (gen_write_file_at (dfd, "boot/loader/loader.conf", "default demo-9.conf\n", 20, 0644, NULL));
  g_assert_true (gen_sysroot_cleanup (f->sysroot, NULL, &error));
  g_autofree char *def2 = gen_boot_read_default (dfd);
  g_assert_cmpstr (def2, ==, "demo-9.conf");
}

static void
test_booted (Fixture *f, gconstpointer data)
{
  g_autofree char *file = g_build_filename (f->dir, "booted", NULL);
  g_assert_cmpuint (gen_sysroot_booted_from (f->sysroot, file), ==, 0);
  g_autofree char *text = g_strdup_printf ("os=demo\ngeneration=7\nrelease=abc\nroot=ro\n"
                                           "sysroot=%s\n", f->dir);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));
  g_assert_cmpuint (gen_sysroot_booted_from (f->sysroot, file), ==, 7);
  /* Another sysroot, or another OS, did not boot from this one. */
  g_autofree char *other = g_strdup ("os=demo\ngeneration=7\nsysroot=/\n");
  g_assert_true (g_file_set_contents (file, other, -1, NULL));
  g_assert_cmpuint (gen_sysroot_booted_from (f->sysroot, file), ==, 0);
  g_autofree char *other_os = g_strdup_printf ("os=else\ngeneration=7\nsysroot=%s\n", f->dir);
  g_assert_true (g_file_set_contents (file, other_os, -1, NULL));
  g_assert_cmpuint (gen_sysroot_booted_from (f->sysroot, file), ==, 0);
}

/* Without --sysroot: "/" unless a booted file names an absolute sysroot. */
static void
test_default_path (Fixture *f, gconstpointer data)
{
  g_autofree char *file = g_build_filename (f->dir, "booted", NULL);
  g_autofree char *none = gen_sysroot_default_path (file);
  g_assert_cmpstr (none, ==, "/");
  g_assert_true (g_file_set_contents (file, "os=demo\ngeneration=3\nsysroot=/run/gen/sysroot\n",
                                      -1, NULL));
  g_autofree char *booted = gen_sysroot_default_path (file);
  g_assert_cmpstr (booted, ==, "/run/gen/sysroot");
  g_assert_true (g_file_set_contents (file, "os=demo\nsysroot=relative\n", -1, NULL));
  g_autofree char *relative = gen_sysroot_default_path (file);
  g_assert_cmpstr (relative, ==, "/");
}

static void
test_lock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
  g_autoptr (GenSysroot) other = gen_sysroot_open (f->dir, &error);
  g_assert_false (gen_sysroot_lock (other, FALSE, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_BUSY);
  g_assert_true (strstr (error->message, "another gen run holds the lock") != NULL);
  g_clear_error (&error);
  gen_close_fd (&f->sysroot->lock_fd);
  g_assert_true (gen_sysroot_lock (other, FALSE, &error));
}

static void
test_rollback (Fixture *f, gconstpointer data)
{
  int dfd = f->sysroot->dfd;
  for (guint n = 1; n <= 3; n++)
    {
      write_generation (f, n);
      g_autofree char *etc = g_strdup_printf ("gen/generations/%u/etc", n);
      g_assert_true (gen_mkdir_p_at (dfd, etc, 0755, NULL));
    }
  g_autofree char *checksum = g_strnfill (64, 'a');
  g_autofree char *deploy = gen_sysroot_deploy_path (checksum);
  g_assert_true (gen_mkdir_p_at (dfd, deploy, 0755, NULL));
  g_assert_true (gen_mkdir_p_at (dfd, "boot/demo/6.1.0-0123456789abcdef", 0755, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/demo/6.1.0-0123456789abcdef/vmlinuz", "k", 1, 0644, NULL));
  g_assert_true (gen_write_new_file_at (dfd, "boot/demo/6.1.0-0123456789abcdef/initrd.img", "i", 1, 0644, NULL));
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 3, 3, 3, NULL));
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, NULL));

  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (gen_rollback (f->sysroot, 0, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (f->sysroot->current, ==, 2);
  g_assert_cmpuint (f->sysroot->default_gen, ==, 2);
  g_autofree char *def = gen_boot_read_default (dfd);
  g_assert_cmpstr (def, ==, "demo-2.conf");
  g_assert_cmpuint (gen_rollback (f->sysroot, 0, &error), ==, 1);
  g_assert_cmpuint (gen_rollback (f->sysroot, 0, &error), ==, 0);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION);
  g_assert_cmpstr (error->message, ==, "no generation before 1 to roll back to (see 'gen list')");
  g_clear_error (&error);
  g_assert_cmpuint (gen_rollback (f->sysroot, 9, &error), ==, 0);
  g_assert_cmpstr (error->message, ==, "generation 9 does not exist (see 'gen list')");
  g_clear_error (&error);
  g_assert_cmpuint (gen_rollback (f->sysroot, 3, &error), ==, 3);
  g_assert_cmpuint (f->sysroot->last, ==, 3);

  /* A generation whose kernel is gone is refused. */
  g_assert_no_errno (unlinkat (dfd, "boot/demo/6.1.0-0123456789abcdef/initrd.img", 0));
  g_assert_cmpuint (gen_rollback (f->sysroot, 1, &error), ==, 0);
  g_assert_true (strstr (error->message, "generation 1 is damaged") != NULL);
  g_assert_cmpuint (f->sysroot->current, ==, 3);
}

/* The record as `gen list --json` shows it: compares every member. */
static char *
record_text (GenGeneration *g)
{
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  return json_to_string (node, TRUE);
}

/* gen/generations.idx (gen-index.h): what is saved comes back, every member
 * of the record; a damaged file gives an empty index; a record is found only
 * for its folder's inode. */
static void
test_index_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_false (gen_index_was_valid (index));
  g_autoptr (GenGeneration) full = make_generation (2);
  full->release_packages = 42;
  full->manifest_revision = g_strnfill (40, 'f');
  full->manifest_dirty = TRUE;
  full->data->source = GEN_DATA_BY_RELEASE;
  full->data->schema = 3;
  g_array_set_size (full->data->reads, 0);
  g_array_append_vals (full->data->reads, ((guint[]) { 2, 3 }), 2);
  g_strfreev (full->data_paths);
  full->data_paths = g_strsplit ("/var/lib/app /srv/media", " ", -1);
  full->boot_loader = g_strdup ("grub");
  full->boot_limit = 5;
  for (guint n = 1; n <= 3; n++)
    {
      g_autoptr (GenGeneration) g = make_generation (n);
      gen_index_put (index, 100 + n, n == 2 ? full : g);
    }
  gen_index_set_last (index, 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_assert_false (gen_index_is_dirty (index));

  g_autoptr (GenIndex) again = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_was_valid (again));
  g_assert_cmpuint (gen_index_last (again), ==, 3);
  guint len;
  const guint *numbers = gen_index_numbers (again, &len);
  g_assert_cmpuint (len, ==, 3);
  g_assert_cmpuint (numbers[0], ==, 1);
  g_assert_cmpuint (numbers[2], ==, 3);
  GenGeneration *g2 = gen_index_lookup (again, 2, 102);
  g_assert_nonnull (g2);
  g_autofree char *want = record_text (full);
  g_autofree char *got = record_text (g2);
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpuint (g2->data->source, ==, GEN_DATA_BY_RELEASE);
  /* Absent members stay absent. */
  g_autoptr (GenGeneration) plain = make_generation (1);
  g_autofree char *want1 = record_text (plain);
  g_autofree char *got1 = record_text (gen_index_lookup (again, 1, 101));
  g_assert_cmpstr (got1, ==, want1);
  g_assert_null (gen_index_lookup (again, 2, 999)); /* another folder: not trusted */
  g_assert_null (gen_index_lookup (again, 4, 0));

  /* Dropping one makes it dirty; a number not present is gone. */
  g_autoptr (GHashTable) present = g_hash_table_new (NULL, NULL);
  g_hash_table_add (present, GUINT_TO_POINTER (1));
  g_hash_table_add (present, GUINT_TO_POINTER (3));
  gen_index_retain (again, present);
  g_assert_true (gen_index_is_dirty (again));
  g_assert_null (gen_index_lookup (again, 2, 0));
  g_assert_cmpstr (gen_index_lookup (again, 3, 103)->os, ==, "demo");

  /* The texts `gen list --json` prints come back. */
  g_autofree char *json2 = gen_generation_json_text (full);
  g_autofree char *json1 = gen_generation_json_text (plain);
  g_autoptr (GenIndex) third = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  gboolean reads = FALSE;
  g_assert_cmpstr (gen_index_lookup_json (third, 2, 3, &reads), ==, json2);
  g_assert_true (reads);
  g_assert_cmpstr (gen_index_lookup_json (third, 1, 3, &reads), ==, json1);
  g_assert_false (reads);

  /* One byte of the texts (the file's end) changed: the records still
   * count, and each text is made again from its record. */
  g_autofree char *path = g_build_filename (f->dir, GEN_INDEX_FILE, NULL);
  g_autofree char *text = NULL;
  gsize size;
  g_assert_true (g_file_get_contents (path, &text, &size, NULL));
  text[size - 40] ^= 1;
  g_assert_true (g_file_set_contents (path, text, size, NULL));
  g_autoptr (GenIndex) texts_damaged = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_was_valid (texts_damaged));
  g_assert_cmpstr (gen_index_lookup_json (texts_damaged, 2, 3, &reads), ==, json2);
  g_assert_cmpstr (gen_index_lookup_json (texts_damaged, 1, 3, &reads), ==, json1);
  text[size - 40] ^= 1;

  /* One byte of the records changed: the checksum no longer matches. */
  text[100] ^= 1;
  g_assert_true (g_file_set_contents (path, text, size, NULL));
  g_autoptr (GenIndex) damaged = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_false (gen_index_was_valid (damaged));
  g_assert_null (gen_index_lookup (damaged, 1, 0));
}

/* Saved again with no generation added or removed, the records and texts
 * go back whole (the texts even unread); after one is dropped, the others'
 * texts, still in the file first read, are written out. */
static void
test_index_resave (Fixture *f, gconstpointer data)
{
  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  char *json[4] = { NULL };
  for (guint n = 1; n <= 3; n++)
    {
      g_autoptr (GenGeneration) g = make_generation (n);
      gen_index_put (index, 100 + n, g);
      json[n] = gen_generation_json_text (g);
    }
  gen_index_set_last (index, 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (f->dir, GEN_INDEX_FILE, NULL);
  g_autofree char *first = NULL;
  gsize first_len;
  g_assert_true (g_file_get_contents (path, &first, &first_len, NULL));
  /* One byte of the texts damaged. */
  first[first_len - 10] ^= 1;
  g_assert_true (g_file_set_contents (path, first, first_len, NULL));

  /* Texts unread: written back as they were, byte for byte, with their
   * checksum, so that the damage still shows (and is not made good by a
   * checksum of the damaged bytes). */
  g_autoptr (GenIndex) a = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  gen_index_set_last (a, 4);
  g_assert_true (gen_index_save (a, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autofree char *second = NULL;
  gsize second_len;
  g_assert_true (g_file_get_contents (path, &second, &second_len, NULL));
  gsize tail = strlen (json[1]) + strlen (json[2]) + strlen (json[3]) + 3;
  g_assert_cmpuint (first_len, >=, tail);
  g_assert_cmpuint (second_len, >=, tail);
  g_assert_true (memcmp (first + first_len - tail, second + second_len - tail, tail) == 0);

  /* Texts read (found damaged, made again), then saved with only `last`
   * changed. */
  g_autoptr (GenIndex) b = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_cmpuint (gen_index_last (b), ==, 4);
  gboolean reads;
  for (guint n = 1; n <= 3; n++)
    g_assert_cmpstr (gen_index_lookup_json (b, n, 3, &reads), ==, json[n]);
  gen_index_set_last (b, 5);
  g_assert_true (gen_index_save (b, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autoptr (GenIndex) c = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_cmpuint (gen_index_last (c), ==, 5);
  for (guint n = 1; n <= 3; n++)
    g_assert_cmpstr (gen_index_lookup_json (c, n, 3, &reads), ==, json[n]);
  /* Texts read and sound, saved with only `last` changed. */
  gen_index_set_last (c, 6);
  g_assert_true (gen_index_save (c, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autoptr (GenIndex) c2 = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_cmpuint (gen_index_last (c2), ==, 6);
  for (guint n = 1; n <= 3; n++)
    g_assert_cmpstr (gen_index_lookup_json (c2, n, 3, &reads), ==, json[n]);

  /* One dropped: the others move, their texts still in the file c2 read. */
  g_autoptr (GHashTable) present = g_hash_table_new (NULL, NULL);
  g_hash_table_add (present, GUINT_TO_POINTER (1));
  g_hash_table_add (present, GUINT_TO_POINTER (3));
  gen_index_retain (c2, present);
  g_assert_true (gen_index_save (c2, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autoptr (GenIndex) d = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  guint len;
  gen_index_numbers (d, &len);
  g_assert_cmpuint (len, ==, 2);
  g_assert_cmpstr (gen_index_lookup_json (d, 1, 3, &reads), ==, json[1]);
  g_assert_cmpstr (gen_index_lookup_json (d, 3, 3, &reads), ==, json[3]);
  g_assert_null (gen_index_lookup (d, 2, 0));
  for (guint n = 1; n <= 3; n++)
    g_free (json[n]);
}

/* The file at @path ends with @json[1..n], each ended by a NUL, and its
 * head holds their CRC: the texts as written (reading them back proves nothing: texts that fail their check
 * are made again from the records). */
static void
assert_texts_tail (const char *path, GPtrArray *json, guint n)
{
  g_autoptr (GString) want = g_string_new (NULL);
  for (guint i = 1; i <= n; i++)
    g_string_append_len (want, json->pdata[i], strlen (json->pdata[i]) + 1);
  g_autofree char *file = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &file, &len, NULL));
  g_assert_cmpuint (len, >, want->len);
  g_assert_true (memcmp (file + len - want->len, want->str, want->len) == 0);
  /* The head's second word: the texts' CRC-32, little-endian. */
  guint32 crc;
  memcpy (&crc, file + 4, sizeof crc);
  g_assert_cmpuint (GUINT32_FROM_LE (crc), ==, crc32_z (0, (const guint8 *) want->str, want->len));
}

/* More generations than writev() takes parts at once, their texts each in
 * its own allocation, then one more after the file is read (its texts one
 * part, the new one another): every text is written, and valid. */
static void
test_index_many (Fixture *f, gconstpointer data)
{
  const guint many = IOV_MAX + 100;
  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_autoptr (GPtrArray) json = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (json, NULL);
  for (guint n = 1; n <= many + 1; n++)
    {
      g_autoptr (GenGeneration) g = make_generation (n);
      g_free (g->manifest_path);
      g->manifest_path = g_strdup_printf ("/srv/m-%u.json", n);
      if (n <= many)
        gen_index_put (index, 1000 + n, g);
      g_ptr_array_add (json, gen_generation_json_text (g));
    }
  gen_index_set_last (index, many);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (f->dir, GEN_INDEX_FILE, NULL);
  assert_texts_tail (path, json, many);
  g_autoptr (GenIndex) again = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_was_valid (again));
  gboolean reads;
  for (guint n = 1; n <= many; n++)
    g_assert_cmpstr (gen_index_lookup_json (again, n, 3, &reads), ==, json->pdata[n]);
  g_autoptr (GenGeneration) last = make_generation (many + 1);
  g_free (last->manifest_path);
  last->manifest_path = g_strdup_printf ("/srv/m-%u.json", many + 1);
  gen_index_put (again, 1000 + many + 1, last);
  gen_index_set_last (again, many + 1);
  g_assert_true (gen_index_save (again, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  assert_texts_tail (path, json, many + 1);
  g_autoptr (GenIndex) third = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_was_valid (third));
  for (guint n = 1; n <= many + 1; n++)
    g_assert_cmpstr (gen_index_lookup_json (third, n, 3, &reads), ==, json->pdata[n]);
}

/* An mtime long past, for utimensat(). */
static const struct timespec long_ago[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

/* Until what changed just now is no longer racy (gen_racy()). */
static void
wait_out_racy (void)
{
  g_usleep ((GEN_RACY_SECONDS * 1000 + 100) * 1000);
}

/* A folder record: trusted only while the folder is unchanged; when it had
 * changed within the racy window before its stamp, only while it also lists
 * the same names and inodes. */
static void
test_index_dir_records (Fixture *f, gconstpointer data)
{
  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_autofree char *dir = g_build_filename (f->dir, GEN_GENERATIONS_DIR, NULL);
  /* Changed just now: racy, so listed. */
  g_assert_no_errno (utimensat (AT_FDCWD, dir, NULL, 0));
  GenDirStamp st;
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  g_assert_true (st.listed);
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_assert_true (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  /* Kept by the saved index. */
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autoptr (GenIndex) again = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_dir_trusted (again, f->sysroot->dfd, "x"));

  /* A name added in the same clock tick as the stamp's: the stat data
   * would stay as they were, the listing does not.  (Made up: the stamp's
   * listing with the folder's later stat data; the kernel may give a change
   * after a stat a finer timestamp.) */
  GenDirStamp before = st;
  g_autofree char *added = g_build_filename (dir, "added", NULL);
  g_assert_true (g_file_set_contents (added, "", 0, NULL));
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  g_assert_true (st.listed);
  g_assert_true (memcmp (st.listing, before.listing, sizeof st.listing) != 0);
  memcpy (st.listing, before.listing, sizeof st.listing);
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_assert_false (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  /* The same stamp with its own listing: trusted. */
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_assert_true (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  /* Not listed, yet racy (a stamp the folder could not be read for): never trusted. */
  st.listed = FALSE;
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_assert_false (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));

  /* Its mtime set back: its ctime is of just now, so still racy (a change
   * in the same tick could leave both as they are), listed. */
  g_assert_no_errno (utimensat (AT_FDCWD, dir, long_ago, 0));
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  g_assert_true (st.listed);
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_assert_true (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  /* A new name in the folder: not trusted any more. */
  g_autofree char *sub = g_build_filename (dir, "7", NULL);
  g_assert_no_errno (mkdir (sub, 0755));
  g_assert_no_errno (utimensat (AT_FDCWD, dir, long_ago, 0)); /* even with the old mtime */
  g_assert_false (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  g_assert_false (gen_index_dir_trusted (index, f->sysroot->dfd, "unknown"));
}

/* A racy record found unchanged once the racy window has passed settles:
 * it is kept as trusted on its stat data alone, and later runs do not list
 * the folder. */
static void
test_index_dir_settles (Fixture *f, gconstpointer data)
{
  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_autofree char *dir = g_build_filename (f->dir, GEN_GENERATIONS_DIR, NULL);
  g_assert_no_errno (utimensat (AT_FDCWD, dir, NULL, 0)); /* changed just now: racy */
  GenDirStamp st;
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  g_assert_true (st.listed);
  gen_index_record_dir (index, "x", GEN_GENERATIONS_DIR, &st);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  /* Within the window: trusted on its listing, still racy. */
  g_assert_true (gen_index_dir_trusted (index, f->sysroot->dfd, "x"));
  g_assert_false (gen_index_is_dirty (index));

  wait_out_racy ();
  g_autoptr (GenIndex) later = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_dir_trusted (later, f->sysroot->dfd, "x"));
  g_assert_true (gen_index_is_dirty (later)); /* settled: to be saved */
  g_assert_true (gen_index_save (later, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);
  g_autoptr (GenIndex) settled = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_dir_trusted (settled, f->sysroot->dfd, "x"));
  g_assert_false (gen_index_is_dirty (settled)); /* nothing left to settle */
  /* A stamp taken now is not racy: not listed, trusted on its stat data. */
  g_assert_true (gen_index_dir_stamp (f->sysroot->dfd, GEN_GENERATIONS_DIR, &st));
  g_assert_false (st.listed);
  gen_index_record_dir (settled, "y", GEN_GENERATIONS_DIR, &st);
  g_assert_true (gen_index_dir_trusted (settled, f->sysroot->dfd, "y"));
  /* A new name still tells. */
  g_autofree char *added = g_build_filename (dir, "added", NULL);
  g_assert_true (g_file_set_contents (added, "", 0, NULL));
  g_assert_false (gen_index_dir_trusted (settled, f->sysroot->dfd, "x"));
  g_assert_false (gen_index_dir_trusted (settled, f->sysroot->dfd, "y"));
}

/* Writes @text to boot/@name with an mtime long past. */
static char *
write_old_file (Fixture *f, const char *name, const char *text)
{
  char *path = g_build_filename (f->dir, "boot", name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_write_file_at (AT_FDCWD, path, text, strlen (text), 0644, &error));
  g_assert_no_error (error);
  g_assert_no_errno (utimensat (AT_FDCWD, path, long_ago, 0));
  return path;
}

/* A menu file's note: its text's digest, and what it was made from when
 * the writer said so.  Known without reading while its stat data stay. */
static void
test_index_file_notes (Fixture *f, gconstpointer data)
{
  const guint8 from_a[GEN_INDEX_FROM_LEN] = { 1, 2, 3 };
  const guint8 from_b[GEN_INDEX_FROM_LEN] = { 1, 2, 4 };
  const char *text = "title demo\n";
  g_autofree char *x = write_old_file (f, "x.conf", text);
  g_autofree char *y = write_old_file (f, "y.conf", text);
  /* Their ctimes (set by the write and by utimensat) leave the racy window. */
  wait_out_racy ();

  g_autoptr (GenIndex) index = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_false (gen_index_file_made_from (index, f->sysroot->dfd, "boot/x.conf", from_a));
  gen_index_note_file (index, f->sysroot->dfd, "boot/x.conf", text, from_a);
  g_assert_true (gen_index_file_made_from (index, f->sysroot->dfd, "boot/x.conf", from_a));
  g_assert_false (gen_index_file_made_from (index, f->sysroot->dfd, "boot/x.conf", from_b));
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_index_save (index, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);

  /* Saved and read again. */
  g_autoptr (GenIndex) again = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_index_file_made_from (again, f->sysroot->dfd, "boot/x.conf", from_a));
  g_assert_true (gen_index_file_holds (again, f->sysroot->dfd, "boot/x.conf", text));
  /* Noted again without saying from what: no longer known as made from it. */
  gen_index_note_file (again, f->sysroot->dfd, "boot/x.conf", text, NULL);
  g_assert_false (gen_index_file_made_from (again, f->sysroot->dfd, "boot/x.conf", from_a));
  gen_index_note_file (again, f->sysroot->dfd, "boot/x.conf", text, from_a);
  gen_index_note_file (again, f->sysroot->dfd, "boot/y.conf", text, from_a);
  g_assert_true (gen_index_save (again, f->sysroot->dfd, GEN_INDEX_FILE, &error));
  g_assert_no_error (error);

  /* x edited in place (same inode, same size, its old mtime put back): only
   * its ctime tells, to the next run.  The run that saw the file's stat
   * data does not look at them again (it holds the lock, and the menu
   * passes of a switch ask for every entry twice). */
  int fd = open (x, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "TITLE", 5), ==, 5);
  g_assert_no_errno (close (fd));
  g_assert_no_errno (utimensat (AT_FDCWD, x, long_ago, 0));
  g_assert_true (gen_index_file_made_from (again, f->sysroot->dfd, "boot/x.conf", from_a));
  g_autoptr (GenIndex) edited = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_false (gen_index_file_made_from (edited, f->sysroot->dfd, "boot/x.conf", from_a));
  g_assert_true (gen_index_file_made_from (edited, f->sysroot->dfd, "boot/y.conf", from_a));

  /* y replaced by another file with the same size and mtime. */
  g_autofree char *z = write_old_file (f, "z.conf", "title omed\n");
  g_assert_no_errno (rename (z, y));
  g_autoptr (GenIndex) replaced = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_false (gen_index_file_made_from (replaced, f->sysroot->dfd, "boot/y.conf", from_a));

  /* Racy, noted for this process's digest only, never as made from: x
   * written just now, and x with an old mtime but a ctime of just now (an
   * edit in the same clock tick would leave all its stat data as they are). */
  g_autoptr (GenIndex) third = gen_index_load (f->sysroot->dfd, GEN_INDEX_FILE);
  g_assert_true (gen_write_file_at (AT_FDCWD, x, text, strlen (text), 0644, &error));
  gen_index_note_file (third, f->sysroot->dfd, "boot/x.conf", text, from_a);
  g_assert_false (gen_index_file_made_from (third, f->sysroot->dfd, "boot/x.conf", from_a));
  g_assert_true (gen_index_file_holds (third, f->sysroot->dfd, "boot/x.conf", text));
  g_assert_no_errno (utimensat (AT_FDCWD, x, long_ago, 0));
  gen_index_note_file (third, f->sysroot->dfd, "boot/x.conf", text, from_a);
  g_assert_false (gen_index_file_made_from (third, f->sysroot->dfd, "boot/x.conf", from_a));
  g_assert_true (gen_index_file_holds (third, f->sysroot->dfd, "boot/x.conf", text));
}

/* Racy by mtime or ctime, and times before 1970 (which wrap as gen_ns()
 * gives them) compare as times. */
static void
test_racy (void)
{
  const gint64 second = G_GINT64_CONSTANT (1000000000);
  guint64 now = gen_now_ns ();
  guint64 old = now - 100 * second;
  g_assert_true (gen_racy (now, now, now));
  g_assert_true (gen_racy (old, now - second, now));
  g_assert_false (gen_racy (old, old, now));
  struct timespec before_1970 = { -1, 0 };
  guint64 b = gen_ns (&before_1970);
  g_assert_true (gen_racy (b, now, now));
  g_assert_false (gen_racy (b, b, now));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sysroot/uninitialised", test_uninitialised);
  g_test_add ("/sysroot/prepare", Fixture, NULL, setup, test_prepare, teardown);
  g_test_add_func ("/generation/json-roundtrip", test_generation_json_roundtrip);
  g_test_add_func ("/util/racy", test_racy);
  g_test_add ("/sysroot/commit-state", Fixture, NULL, setup, test_commit_state, teardown);
  g_test_add ("/sysroot/cleanup", Fixture, NULL, setup, test_cleanup, teardown);
  g_test_add ("/sysroot/lock", Fixture, NULL, setup, test_lock, teardown);
  g_test_add ("/sysroot/booted", Fixture, NULL, setup, test_booted, teardown);
  g_test_add ("/sysroot/default-path", Fixture, NULL, setup, test_default_path, teardown);
  g_test_add ("/sysroot/rollback", Fixture, NULL, setup, test_rollback, teardown);
  g_test_add ("/index/roundtrip", Fixture, NULL, setup, test_index_roundtrip, teardown);
  g_test_add ("/index/resave", Fixture, NULL, setup, test_index_resave, teardown);
  g_test_add ("/index/many", Fixture, NULL, setup, test_index_many, teardown);
  g_test_add ("/index/dir-records", Fixture, NULL, setup, test_index_dir_records, teardown);
  g_test_add ("/index/dir-settles", Fixture, NULL, setup, test_index_dir_settles, teardown);
  g_test_add ("/index/file-notes", Fixture, NULL, setup, test_index_file_notes, teardown);
  return g_test_run ();
}
