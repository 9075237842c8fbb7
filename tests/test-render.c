/* Unit tests for config rendering (src/gen-render.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-error.h"
#include "gen-render.h"
#include "gen-util.h"

typedef struct {
  char *dir;
  GHashTable *vars;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("gen-test-render-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->vars = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (f->vars, (char *) "host", (char *) "edge-01");
  g_hash_table_insert (f->vars, (char *) "port", (char *) "8080");
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_assert_true (gen_rm_rf_at (AT_FDCWD, f->dir, NULL));
  g_free (f->dir);
  g_hash_table_unref (f->vars);
}

static void
test_substitute (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = gen_render_substitute ("{{host}}:{{ port }} {{port}}\n", f->vars, "x", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "edge-01:8080 8080\n");
  g_autofree char *b = gen_render_substitute ("no vars { here }", f->vars, "x", &error);
  g_assert_cmpstr (b, ==, "no vars { here }");
  g_autofree char *c = gen_render_substitute ("", f->vars, "x", &error);
  g_assert_cmpstr (c, ==, "");

  g_autofree char *d = gen_render_substitute ("a {{hostname}} b", f->vars, "what", &error);
  g_assert_null (d);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==,
                   "what: undefined variable 'hostname' (define it in config.vars)");
  g_clear_error (&error);
  g_autofree char *e = gen_render_substitute ("a {{host", f->vars, "what", &error);
  g_assert_null (e);
  g_assert_cmpstr (error->message, ==, "what: unclosed '{{'");
}

static GenManifest *
manifest (Fixture *f, const char *files_json)
{
  g_autofree char *tpl = g_build_filename (f->dir, "app.conf.in", NULL);
  g_assert_true (g_file_set_contents (tpl, "port={{port}}\n", -1, NULL));
  g_autofree char *src = g_build_filename (f->dir, "blob", NULL);
  g_assert_true (g_file_set_contents (src, "{{kept}}\n", -1, NULL));
  g_autofree char *json = g_strdup_printf (
      "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"vars\":{\"host\":\"edge-01\","
      "\"port\":8080},\"files\":%s}}",
      files_json);
  g_autoptr (GError) error = NULL;
  GenManifest *m = gen_manifest_parse (json, strlen (json), "m.json", f->dir, &error);
  g_assert_no_error (error);
  return m;
}

static const char *const all_files
    = "{\"/etc/hostname\":{\"content\":\"{{host}}\\n\"},"
      "\"/etc/app/app.conf\":{\"template\":\"app.conf.in\",\"mode\":\"0640\"},"
      "\"/etc/blob\":{\"source\":\"blob\"},"
      "\"/etc/localtime\":{\"symlink\":\"/usr/share/zoneinfo/UTC\"}}";

static void
test_render (Fixture *f, gconstpointer data)
{
  g_autoptr (GenManifest) m = manifest (f, all_files);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = gen_render_config (m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (files->len, ==, 4);
  GenRenderedFile *app = files->pdata[0], *blob = files->pdata[1], *host = files->pdata[2],
                  *lt = files->pdata[3];
  g_assert_cmpstr (app->path, ==, "/etc/app/app.conf");
  g_assert_cmpmem (g_bytes_get_data (app->content, NULL), g_bytes_get_size (app->content),
                   "port=8080\n", 10);
  g_assert_cmpuint (app->mode, ==, 0640);
  /* A source is copied as is: no substitution. */
  g_assert_cmpmem (g_bytes_get_data (blob->content, NULL), g_bytes_get_size (blob->content),
                   "{{kept}}\n", 9);
  g_assert_cmpmem (g_bytes_get_data (host->content, NULL), g_bytes_get_size (host->content),
                   "edge-01\n", 8);
  g_assert_true (lt->is_symlink);
  g_assert_cmpstr (lt->target, ==, "/usr/share/zoneinfo/UTC");
}

static void
test_undefined_in_template (Fixture *f, gconstpointer data)
{
  g_autofree char *tpl = g_build_filename (f->dir, "bad.in", NULL);
  g_assert_true (g_file_set_contents (tpl, "{{nope}}", -1, NULL));
  g_autoptr (GenManifest) m = manifest (f, "{\"/etc/x\":{\"template\":\"bad.in\"}}");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = gen_render_config (m, &error);
  g_assert_null (files);
  g_assert_cmpstr (error->message, ==,
                   "m.json: config.files[\"/etc/x\"]: undefined variable 'nope' (define it in "
                   "config.vars)");
}

static void
test_digest (Fixture *f, gconstpointer data)
{
  g_autoptr (GenManifest) m1 = manifest (f, "{\"/etc/a\":{\"content\":\"x\"}}");
  g_autoptr (GenManifest) m2 = manifest (f, "{\"/etc/a\":{\"content\":\"x\"}}");
  g_autoptr (GenManifest) m3 = manifest (f, "{\"/etc/a\":{\"content\":\"x\",\"mode\":\"0600\"}}");
  g_autoptr (GenManifest) m4 = manifest (f, "{\"/etc/a\":{\"symlink\":\"x\"}}");
  g_autoptr (GPtrArray) r1 = gen_render_config (m1, NULL);
  g_autoptr (GPtrArray) r2 = gen_render_config (m2, NULL);
  g_autoptr (GPtrArray) r3 = gen_render_config (m3, NULL);
  g_autoptr (GPtrArray) r4 = gen_render_config (m4, NULL);
  g_autofree char *d1 = gen_render_digest (r1), *d2 = gen_render_digest (r2),
                  *d3 = gen_render_digest (r3), *d4 = gen_render_digest (r4);
  g_assert_cmpstr (d1, ==, d2);
  g_assert_cmpstr (d1, !=, d3);
  g_assert_cmpstr (d1, !=, d4);
  g_assert_cmpuint (strlen (d1), ==, 64);
}

static void
test_write_read_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (GenManifest) m = manifest (f, all_files);
  g_autoptr (GPtrArray) files = gen_render_config (m, NULL);
  gen_autofd dfd = gen_open_dir_at (AT_FDCWD, f->dir, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gen_render_write (files, dfd, "overlay", &error));
  g_assert_no_error (error);

  struct stat st;
  g_assert_no_errno (fstatat (dfd, "overlay/app/app.conf", &st, 0));
  g_assert_cmpuint (st.st_mode & 07777, ==, 0640);
  char target[256] = { 0 };
  g_assert_cmpint (readlinkat (dfd, "overlay/localtime", target, sizeof target - 1), >, 0);
  g_assert_cmpstr (target, ==, "/usr/share/zoneinfo/UTC");
  g_autofree char *host = gen_read_file_at (dfd, "overlay/hostname", NULL, NULL);
  g_assert_cmpstr (host, ==, "edge-01\n");

  g_autoptr (GPtrArray) back = gen_render_read (dfd, "overlay", &error);
  g_assert_no_error (error);
  g_autofree char *d1 = gen_render_digest (files), *d2 = gen_render_digest (back);
  g_assert_cmpstr (d1, ==, d2);

  /* The folder must be new: a second write into it fails rather than mixing overlays. */
  g_assert_false (gen_render_write (files, dfd, "overlay", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/render/substitute", Fixture, NULL, setup, test_substitute, teardown);
  g_test_add ("/render/render", Fixture, NULL, setup, test_render, teardown);
  g_test_add ("/render/undefined-in-template", Fixture, NULL, setup, test_undefined_in_template,
              teardown);
  g_test_add ("/render/digest", Fixture, NULL, setup, test_digest, teardown);
  g_test_add ("/render/write-read", Fixture, NULL, setup, test_write_read_roundtrip, teardown);
  return g_test_run ();
}
