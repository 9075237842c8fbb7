/* Unit tests for pinned generations: gen/pins.json and gen_pin (src/gen-pin.c). */
#include <fcntl.h>
#include <string.h>

#include "gen-boot.h"
#include "gen-error.h"
#include "gen-pin.h"
#include "gen-sysroot.h"
#include "gen-util.h"

typedef struct
{
  char *dir;
  GenSysroot *sysroot;
} Fixture;

/* Generation N: its record, and the checkout, overlay and kernel that make it complete. */
static void
write_generation (Fixture *f, guint n)
{
  GenGeneration *g = gen_generation_new ();
  g->number = n;
  g->date = g_strdup ("2026-11-28T01:02:03Z");
  g->os = g_strdup ("demo");
  g->release_checksum = g_strnfill (64, 'a');
  g->kernel_version = g_strdup ("6.1.0");
  g->kernel_dir = g_strdup ("demo/6.1.0-0123456789abcdef");
  g->kernel_args = g_strsplit ("quiet", " ", -1);
  g->config_digest = g_strnfill (64, 'c');
  g->boot_loader = g_strdup ("systemd-boot");
  g->boot_limit = 1;
  int dfd = f->sysroot->dfd;
  g_autofree char *etc = g_strdup_printf ("gen/generations/%u/etc", n);
  g_assert_true (gen_mkdir_p_at (dfd, etc, 0755, NULL));
  g_assert_true (gen_mkdir_p_at (
      dfd, "gen/deploy/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0755,
      NULL));
  g_assert_true (gen_mkdir_p_at (dfd, "boot/demo/6.1.0-0123456789abcdef", 0755, NULL));
  if (!gen_exists_at (dfd, "boot/demo/6.1.0-0123456789abcdef/vmlinuz"))
    g_assert_true (
        gen_write_file_at (dfd, "boot/demo/6.1.0-0123456789abcdef/vmlinuz", "k", 1, 0644, NULL));
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autofree char *json = json_to_string (node, TRUE);
  g_autofree char *path = g_strdup_printf ("gen/generations/%u/generation.json", n);
  g_assert_true (gen_write_file_at (dfd, path, json, strlen (json), 0644, NULL));
  gen_generation_free (g);
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-pin-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_sysroot_prepare (f->dir, "demo", &error));
  f->sysroot = gen_sysroot_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (gen_sysroot_lock (f->sysroot, FALSE, &error));
  for (guint n = 1; n <= 3; n++)
    write_generation (f, n);
  g_assert_true (gen_sysroot_commit_state (f->sysroot, "demo", 3, 3, 3, &error));
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gen_sysroot_free (f->sysroot);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->dir);
}

static gboolean
has_entry (Fixture *f, guint n)
{
  g_autofree char *path = g_strdup_printf ("boot/loader/entries/demo-%u.conf", n);
  return gen_exists_at (f->sysroot->dfd, path);
}

static void
test_none (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint *pins = gen_pins_load (f->sysroot, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pins);
  g_assert_cmpuint (pins[0], ==, 0);
  g_assert_false (gen_pins_contains (pins, 1));
  g_assert_false (gen_pins_contains (NULL, 1));
  /* boot.limit 1: only the default. */
  g_assert_false (has_entry (f, 1));
  g_assert_true (has_entry (f, 3));
}

static void
test_pin_unpin (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;
  g_assert_true (gen_pin (f->sysroot, 1, TRUE, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_true (has_entry (f, 1));
  g_assert_false (has_entry (f, 2));
  g_autofree char *text = gen_read_file_at (f->sysroot->dfd, GEN_PINS_FILE, NULL, NULL);
  g_assert_cmpstr (text, ==, "{\n  \"format\" : 1,\n  \"pinned\" : [\n    1\n  ]\n}\n");
  g_autofree char *entry
      = gen_read_file_at (f->sysroot->dfd, "boot/loader/entries/demo-3.conf", NULL, NULL);
  g_assert_nonnull (strstr (entry, "gen.fallback=1\n"));

  g_assert_true (gen_pin (f->sysroot, 1, TRUE, &changed, &error));
  g_assert_false (changed);
  g_assert_true (gen_pin (f->sysroot, 2, TRUE, &changed, &error));
  g_autofree guint *pins = gen_pins_load (f->sysroot, &error);
  g_assert_cmpuint (pins[0], ==, 1);
  g_assert_cmpuint (pins[1], ==, 2);
  g_assert_cmpuint (pins[2], ==, 0);

  g_assert_true (gen_pin (f->sysroot, 1, FALSE, &changed, &error));
  g_assert_true (changed);
  g_assert_false (has_entry (f, 1));
  g_assert_true (has_entry (f, 2));
  g_assert_true (gen_pin (f->sysroot, 1, FALSE, &changed, &error));
  g_assert_false (changed);
  g_assert_no_error (error);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (gen_pin (f->sysroot, 7, TRUE, NULL, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION);
  g_assert_cmpstr (error->message, ==, "generation 7 does not exist (see 'gen list')");
  g_clear_error (&error);
  g_assert_false (gen_pin (f->sysroot, 7, FALSE, NULL, &error));
  g_assert_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION);
  g_clear_error (&error);
  g_assert_false (gen_exists_at (f->sysroot->dfd, GEN_PINS_FILE));

  /* Incomplete: not pinned. */
  g_assert_true (gen_rm_rf_at (f->sysroot->dfd, "gen/generations/2/etc", NULL));
  g_assert_false (gen_pin (f->sysroot, 2, TRUE, NULL, &error));
  g_assert_nonnull (strstr (error->message, "generation 2 is damaged"));
  g_clear_error (&error);
  g_assert_false (gen_exists_at (f->sysroot->dfd, GEN_PINS_FILE));

  /* A pin may outlive its generation: it can still be removed. */
  g_assert_true (gen_write_file_at (f->sysroot->dfd, GEN_PINS_FILE, "{\"pinned\": [9, 1, 1]}",
                                    strlen ("{\"pinned\": [9, 1, 1]}"), 0644, NULL));
  g_autofree guint *pins = gen_pins_load (f->sysroot, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pins[0], ==, 1);
  g_assert_cmpuint (pins[1], ==, 9);
  g_assert_cmpuint (pins[2], ==, 0);
  g_assert_true (gen_pin (f->sysroot, 9, FALSE, NULL, &error));
  g_assert_no_error (error);

  /* A broken file is an error, not "nothing pinned". */
  g_assert_true (gen_write_file_at (f->sysroot->dfd, GEN_PINS_FILE, "{\"pinned\": [0]}",
                                    strlen ("{\"pinned\": [0]}"), 0644, NULL));
  g_assert_null (gen_pins_load (f->sysroot, &error));
  g_assert_cmpstr (error->message, ==,
                   "reading gen/pins.json: pinned[0] is not a generation number");
  g_clear_error (&error);
  g_assert_true (gen_write_file_at (f->sysroot->dfd, GEN_PINS_FILE, "[]", 2, 0644, NULL));
  g_assert_null (gen_pins_load (f->sysroot, &error));
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/pin/none", Fixture, NULL, setup, test_none, teardown);
  g_test_add ("/pin/pin-unpin", Fixture, NULL, setup, test_pin_unpin, teardown);
  g_test_add ("/pin/refused", Fixture, NULL, setup, test_refused, teardown);
  return g_test_run ();
}
