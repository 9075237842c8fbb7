/* Unit tests for manifest parsing and validation (src/gen-manifest.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-manifest.h"
#include "gen-util.h"

typedef struct {
  char *dir; /* holds releases/r1, templates/, and an outside folder beside it */
} Fixture;

static void
write_file (const char *dir, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_no_errno (g_mkdir_with_parents (parent, 0755));
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *top = g_dir_make_tmp ("gen-test-manifest-XXXXXX", &error);
  g_assert_no_error (error);
  f->dir = g_build_filename (top, "site", NULL);
  g_assert_no_errno (g_mkdir_with_parents (f->dir, 0755));
  g_autofree char *rel = g_build_filename (f->dir, "releases/r1", NULL);
  g_assert_no_errno (g_mkdir_with_parents (rel, 0755));
  write_file (f->dir, "templates/app.conf.in", "port={{ port }}\n");
  write_file (f->dir, "files/blob", "as is {{port}}\n");
  write_file (top, "secret", "outside\n");
  g_autofree char *link = g_build_filename (f->dir, "templates/escape", NULL);
  g_assert_no_errno (symlink ("../../secret", link));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autofree char *top = g_path_get_dirname (f->dir);
  g_assert_true (gen_rm_rf_at (AT_FDCWD, top, NULL));
  g_free (f->dir);
}

static GenManifest *
parse (Fixture *f, const char *json, GError **error)
{
  return gen_manifest_parse (json, strlen (json), "m.json", f->dir, error);
}

static void
test_valid (Fixture *f, gconstpointer data)
{
  const char *json = "{ \"os\": \"demo\","
                     "  \"release\": { \"dir\": \"releases/r1\", \"version\": \"1.2\" },"
                     "  \"kernel\": { \"args\": [\"console=ttyS0\", \"quiet\"] },"
                     "  \"config\": {"
                     "    \"vars\": { \"host\": \"edge-01\", \"port\": 8080, \"debug\": false, \"ratio\": 0.5 },"
                     "    \"files\": {"
                     "      \"/etc/z\": { \"content\": \"{{host}}\" },"
                     "      \"/etc/app/app.conf\": { \"template\": \"templates/app.conf.in\", \"mode\": \"0640\" },"
                     "      \"/etc/blob\": { \"source\": \"files/blob\" },"
                     "      \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } },"
                     "  \"boot\": { \"loader\": \"grub\", \"limit\": 5 } }";
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = parse (f, json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->os, ==, "demo");
  g_assert_cmpint (m->release_kind, ==, GEN_RELEASE_DIR);
  g_autofree char *rel = g_build_filename (f->dir, "releases/r1", NULL);
  g_assert_cmpstr (m->release_source, ==, rel);
  g_assert_cmpstr (m->release_version, ==, "1.2");
  g_assert_cmpuint (g_strv_length (m->kernel_args), ==, 2);
  g_assert_cmpstr (m->kernel_args[1], ==, "quiet");
  g_assert_cmpstr (g_hash_table_lookup (m->vars, "port"), ==, "8080");
  g_assert_cmpstr (g_hash_table_lookup (m->vars, "debug"), ==, "false");
  g_assert_cmpstr (g_hash_table_lookup (m->vars, "ratio"), ==, "0.5");
  g_assert_cmpuint (m->files->len, ==, 4);
  /* Sorted by path. */
  GenConfigFileSpec *app = m->files->pdata[0];
  g_assert_cmpstr (app->path, ==, "/etc/app/app.conf");
  g_assert_cmpint (app->kind, ==, GEN_CONFIG_TEMPLATE);
  g_assert_cmpuint (app->mode, ==, 0640);
  g_assert_true (g_str_has_suffix (app->value, "/templates/app.conf.in"));
  GenConfigFileSpec *blob = m->files->pdata[1];
  g_assert_cmpint (blob->kind, ==, GEN_CONFIG_SOURCE);
  g_assert_cmpuint (blob->mode, ==, 0644);
  GenConfigFileSpec *lt = m->files->pdata[2];
  g_assert_cmpint (lt->kind, ==, GEN_CONFIG_SYMLINK);
  g_assert_cmpstr (lt->value, ==, "/usr/share/zoneinfo/UTC");
  g_assert_cmpuint (lt->mode, ==, 0);
  g_assert_cmpstr (((GenConfigFileSpec *) m->files->pdata[3])->path, ==, "/etc/z");
  g_assert_cmpstr (m->boot_loader, ==, "grub");
  g_assert_cmpuint (m->boot_limit, ==, 5);
  g_assert_cmpmem (g_bytes_get_data (m->bytes, NULL), g_bytes_get_size (m->bytes), json,
                   strlen (json));
}

static void
test_minimal (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = parse (f, "{\"os\":\"x\",\"release\":{\"ref\":\"x/release\"}}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->release_kind, ==, GEN_RELEASE_REF);
  g_assert_cmpstr (m->release_source, ==, "x/release");
  g_assert_null (m->release_version);
  g_assert_nonnull (m->kernel_args);
  g_assert_cmpuint (g_strv_length (m->kernel_args), ==, 0);
  g_assert_cmpuint (m->files->len, ==, 0);
  g_assert_cmpstr (m->boot_loader, ==, "systemd-boot");
  g_assert_cmpuint (m->boot_limit, ==, 0);
}

/* release.ref "REMOTE:REF" and the remotes it pulls from. */
static void
test_remotes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *json = "{\"os\":\"x\",\"release\":{\"ref\":\"origin:x/stable\"},\"remotes\":{"
                     "\"origin\":{\"url\":\"https://releases.example/repo\",\"gpg-keys\":\"files/blob\"},"
                     "\"local\":{\"url\":\"releases\",\"gpg-verify\":false}}}";
  g_autoptr (GenManifest) m = parse (f, json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->release_source, ==, "origin:x/stable");
  g_assert_cmpstr (m->release_remote, ==, "origin");
  g_assert_cmpuint (m->remotes->len, ==, 2);
  const GenRemoteSpec *local = m->remotes->pdata[0]; /* sorted by name */
  g_assert_cmpstr (local->name, ==, "local");
  g_autofree char *releases = g_build_filename (f->dir, "releases", NULL);
  g_autofree char *file_url = g_strconcat ("file://", releases, NULL);
  g_assert_cmpstr (local->url, ==, file_url);
  g_assert_false (local->gpg_verify);
  g_assert_null (local->gpg_keys);
  const GenRemoteSpec *origin = gen_manifest_find_remote (m, "origin");
  g_assert_true (origin == m->remotes->pdata[1]);
  g_assert_cmpstr (origin->url, ==, "https://releases.example/repo");
  g_assert_true (origin->gpg_verify);
  g_assert_true (g_str_has_suffix (origin->gpg_keys, "/files/blob"));
  g_assert_null (gen_manifest_find_remote (m, "other"));

  g_autoptr (GenManifest) plain = parse (f, "{\"os\":\"x\",\"release\":{\"ref\":\"x/stable\"}}", &error);
  g_assert_no_error (error);
  g_assert_null (plain->release_remote);
  g_assert_cmpuint (plain->remotes->len, ==, 0);
}

/* Each bad manifest and a piece of the one error it must give. */
static const struct {
  const char *json;
  const char *message;
} bad[] = {
  { "[]", "m.json: expected a JSON object at the top" },
  { "{", "m.json: not valid JSON" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"extra\":1}", "m.json: extra: unknown key" },
  { "{\"release\":{\"ref\":\"r\"}}", "m.json: os: missing" },
  { "{\"os\":5,\"release\":{\"ref\":\"r\"}}", "m.json: os: expected a string, got a number" },
  { "{\"os\":\"Bad Name\",\"release\":{\"ref\":\"r\"}}", "m.json: os: 'Bad Name' must be" },
  { "{\"os\":\"d\"}", "m.json: release: missing" },
  { "{\"os\":\"d\",\"release\":{}}", "release: give exactly one of 'dir', 'archive', 'ref', 'packages'" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\",\"dir\":\"releases/r1\"}}", "release: give exactly one of" },
  { "{\"os\":\"d\",\"release\":{\"dir\":\"nope\"}}", "release.dir: 'nope' does not exist" },
  { "{\"os\":\"d\",\"release\":{\"archive\":\"releases/r1\"}}", "release.archive: 'releases/r1' is not a file" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\",\"colour\":1}}", "release.colour: unknown key" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"args\":\"quiet\"}}", "kernel.args: expected an array of strings, got a string" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"args\":[1]}}", "kernel.args[0]: expected a string, got a number" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"args\":[\"a b\"]}}", "kernel.args[0]: 'a b' must be one non-empty word" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"args\":[\"gen.generation=3\"]}}", "gen.* arguments are written by gen itself" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"cmdline\":\"x\"}}", "kernel.cmdline: unknown key" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":[]}", "m.json: boot: expected an object, got an array" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"pin\":1}}", "m.json: boot.pin: unknown key (expected 'loader', 'limit')" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"loader\":\"lilo\"}}", "m.json: boot.loader: 'lilo' is not a boot loader gen writes (expected 'systemd-boot', 'grub', 'extlinux')" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"loader\":1}}", "m.json: boot.loader: expected a string, got a number" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"limit\":0}}", "m.json: boot.limit: 0 is not an integer of at least 1" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"limit\":-2}}", "m.json: boot.limit: -2 is not an integer of at least 1" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"limit\":2.5}}", "m.json: boot.limit: 2.5 is not an integer of at least 1" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"limit\":\"3\"}}", "m.json: boot.limit: expected an integer of at least 1, got a string" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"boot\":{\"limit\":99999999999}}", "m.json: boot.limit: 99999999999 is not an integer of at least 1" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"vars\":{\"a\":{}}}}", "config.vars.a: expected a string, number or boolean, got an object" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"vars\":{\"a b\":1}}}", "config.vars.a b: variable names use" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/usr/x\":{\"content\":\"\"}}}}", "config.files[\"/usr/x\"]: target must be a path below /etc/" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/../x\":{\"content\":\"\"}}}}", "config.files[\"/etc/../x\"]: target must be" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/./x\":{\"content\":\"\"}}}}", "config.files[\"/etc/./x\"]: target must be" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc//x\":{\"content\":\"\"}}}}", "config.files[\"/etc//x\"]: target must be" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"etc/x\":{\"content\":\"\"}}}}", "config.files[\"etc/x\"]: target must be" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{}}}}", "config.files[\"/etc/x\"]: give one of" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"symlink\":\"b\"}}}}", "give exactly one of" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"owner\":\"root\"}}}}", "config.files[\"/etc/x\"].owner: unknown key" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"mode\":644}}}}", "config.files[\"/etc/x\"].mode: expected an octal string" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"mode\":\"999\"}}}}", "config.files[\"/etc/x\"].mode: '999' is not an octal mode" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"symlink\":\"y\",\"mode\":\"0644\"}}}}", "a symlink has no mode" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"template\":\"../secret\"}}}}", "config.files[\"/etc/x\"].template: '../secret' is outside the manifest's folder" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"template\":\"templates/escape\"}}}}", "'templates/escape' is outside the manifest's folder" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"source\":\"/etc/passwd\"}}}}", "'/etc/passwd' must be relative to the manifest's folder" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"source\":\"files/none\"}}}}", "config.files[\"/etc/x\"].source: 'files/none': No such file" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\"},\"/etc/x/y\":{\"content\":\"b\"}}}}", "config.files[\"/etc/x/y\"]: '/etc/x' is a file, so it cannot be a folder" },
  /* Setuid and setgid bits; the sticky bit is harmless and allowed. */
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"mode\":\"4755\"}}}}", "config.files[\"/etc/x\"].mode: '4755': setuid and setgid bits are not allowed" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"mode\":\"2644\"}}}}", "config.files[\"/etc/x\"].mode: '2644': setuid and setgid bits are not allowed" },
  /* Escapes JSON allows but C strings and UTF-8 do not. */
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\\u0000b\"}}}}", "m.json: a string holds \\u0000 (NUL)" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"vars\":{\"a\":\"x\\ud800y\"}}}", "m.json: config.vars.a: a key or string is not valid UTF-8" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\\ud800y\":{\"content\":\"a\"}}}}", "m.json: config.files: a key or string is not valid UTF-8" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\\ny\":{\"content\":\"a\"}}}}", "m.json: config.files[\"/etc/x\\ny\"]: target must be a path below /etc/ without '.', '..', empty parts or control characters" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\\ud800:{}}}}", "m.json: not valid JSON" },
  /* remotes and release.ref "REMOTE:REF". */
  { "{\"os\":\"d\",\"release\":{\"ref\":\"o:\"}}", "release.ref: 'o:' is not REF or REMOTE:REF" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\":r\"}}", "release.ref: ':r' is not REF or REMOTE:REF" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"a:b:c\"}}", "release.ref: 'a:b:c' is not REF or REMOTE:REF" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":[]}", "m.json: remotes: expected an object, got an array" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":1}}", "m.json: remotes.o: expected an object, got a number" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"a/b\":{}}}", "m.json: remotes.a/b: a remote name is letters" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{}}}", "m.json: remotes.o.url: missing" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"http://h/r\",\"mirror\":1}}}", "m.json: remotes.o.mirror: unknown key (expected 'url', 'gpg-verify', 'gpg-keys')" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"ftp://h/r\"}}}", "remotes.o.url: 'ftp://h/r': a remote is an http:// or https:// URL or a folder" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"nope\",\"gpg-verify\":false}}}", "remotes.o.url: 'nope' does not exist" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"http://h/r\"}}}", "remotes.o.gpg-keys: missing: give the keyring" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"http://h/r\",\"gpg-verify\":\"no\"}}}", "remotes.o.gpg-verify: expected true or false, got a string" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"http://h/r\",\"gpg-verify\":false,\"gpg-keys\":\"files/blob\"}}}", "remotes.o.gpg-keys: given with \"gpg-verify\": false" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"remotes\":{\"o\":{\"url\":\"http://h/r\",\"gpg-keys\":\"../secret\"}}}", "remotes.o.gpg-keys: '../secret' is outside the manifest's folder" },
  /* Duplicate keys, at every level: JSON-GLib would keep the last silently. */
  { "{\"os\":\"d\",\"os\":\"e\",\"release\":{\"ref\":\"r\"}}", "m.json: os: the key appears more than once" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\",\"ref\":\"s\"}}", "m.json: release.ref: the key appears more than once" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"vars\":{\"a\":1,\"b\":2,\"a\":3}}}", "m.json: config.vars.a: the key appears more than once" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\"},\"/etc/x\":{\"content\":\"b\"}}}}", "m.json: config.files[\"/etc/x\"]: the key appears more than once" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"config\":{\"files\":{\"/etc/x\":{\"content\":\"a\",\"content\":\"b\"}}}}", "m.json: config.files[\"/etc/x\"].content: the key appears more than once" },
  { "{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"args\":[{\"a\":1,\"a\":2}]}}", "m.json: kernel.args[0].a: the key appears more than once" },
};

static void
test_invalid (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GenManifest) m = parse (f, bad[i].json, &error);
      g_test_message ("manifest %u: %s", i, bad[i].json);
      g_assert_null (m);
      g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
      if (!strstr (error->message, bad[i].message))
        g_error ("manifest %u: error '%s' lacks '%s'", i, error->message, bad[i].message);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

static void
test_invalid_utf8 (Fixture *f, gconstpointer data)
{
  const char json[] = "{\"os\":\"d\xff\",\"release\":{\"ref\":\"r\"}}";
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_parse (json, sizeof json - 1, "m.json", f->dir, &error);
  g_assert_null (m);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
  g_assert_true (strstr (error->message, "not valid UTF-8") != NULL);
}

/* JSON-GLib parses recursively: deep nesting is refused before it runs, so
 * a 400 kB manifest of '[' cannot overflow the stack. */
static void
test_deep_nesting (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) deep = g_string_new (NULL);
  for (guint i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 200000; i++)
    g_string_append_c (deep, ']');
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_parse (deep->str, deep->len, "m.json", f->dir, &error);
  g_assert_null (m);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
  g_assert_cmpstr (error->message, ==, "m.json: arrays and objects nested deeper than 32 levels");

  /* Brackets inside strings do not count; 32 levels are accepted. */
  g_autoptr (GString) ok = g_string_new ("{\"os\":\"d\",\"release\":{\"ref\":\"r\"},"
                                         "\"config\":{\"vars\":{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}}}");
  g_clear_error (&error);
  g_autoptr (GenManifest) m2 = gen_manifest_parse (ok->str, ok->len, "m.json", f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (m2->vars, "a"), ==, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[[[");
  g_autoptr (GString) d32 = g_string_new ("{\"os\":\"d\",\"release\":{\"ref\":\"r\"},\"kernel\":{\"x\":");
  for (guint i = 0; i < 30; i++)
    g_string_append_c (d32, '[');
  for (guint i = 0; i < 30; i++)
    g_string_append_c (d32, ']');
  g_string_append (d32, "}}");
  g_clear_error (&error);
  g_autoptr (GenManifest) m3 = gen_manifest_parse (d32->str, d32->len, "m.json", f->dir, &error);
  g_assert_null (m3);
  g_assert_nonnull (strstr (error->message, "kernel.x: unknown key")); /* parsed, not refused for depth */
  g_string_insert_c (d32, d32->len - 2 - 30, '[');
  g_string_insert_c (d32, d32->len - 2, ']');
  g_clear_error (&error);
  g_autoptr (GenManifest) m4 = gen_manifest_parse (d32->str, d32->len, "m.json", f->dir, &error);
  g_assert_null (m4);
  g_assert_nonnull (strstr (error->message, "nested deeper than 32 levels"));
}

static void
test_load_fifo_and_size (Fixture *f, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (f->dir, "fifo.json", NULL);
  g_assert_no_errno (mkfifo (fifo, 0600));
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_load (fifo, &error); /* must not block */
  g_assert_null (m);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);

  g_autofree char *big = g_build_filename (f->dir, "big.json", NULL);
  g_autofree char *text = g_strnfill (GEN_MANIFEST_MAX_SIZE + 1, ' ');
  g_assert_true (g_file_set_contents (big, text, -1, NULL));
  g_clear_error (&error);
  g_autoptr (GenManifest) m2 = gen_manifest_load (big, &error);
  g_assert_null (m2);
  g_assert_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST);
  g_assert_true (strstr (error->message, "larger than") != NULL);
}

static void
test_load_resolves_against_manifest_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "m.json", NULL);
  g_assert_true (g_file_set_contents (path, "{\"os\":\"d\",\"release\":{\"dir\":\"releases/r1\"}}",
                                      -1, NULL));
  /* Load from another working directory: the release still resolves next to the manifest. */
  g_autofree char *old = g_get_current_dir ();
  g_assert_no_errno (chdir ("/"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_load (path, &error);
  g_assert_no_errno (chdir (old));
  g_assert_no_error (error);
  g_autofree char *rel = g_build_filename (f->dir, "releases/r1", NULL);
  g_assert_cmpstr (m->release_source, ==, rel);
}

static void
test_os_names (void)
{
  g_assert_true (gen_os_name_is_valid ("demo"));
  g_assert_true (gen_os_name_is_valid ("debian-12.x_y"));
  g_assert_false (gen_os_name_is_valid (""));
  g_assert_false (gen_os_name_is_valid ("-x"));
  g_assert_false (gen_os_name_is_valid ("Demo"));
  g_assert_false (gen_os_name_is_valid ("a/b"));
  g_autofree char *long_name = g_strnfill (65, 'a');
  g_assert_false (gen_os_name_is_valid (long_name));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/manifest/valid", Fixture, NULL, setup, test_valid, teardown);
  g_test_add ("/manifest/minimal", Fixture, NULL, setup, test_minimal, teardown);
  g_test_add ("/manifest/invalid", Fixture, NULL, setup, test_invalid, teardown);
  g_test_add ("/manifest/remotes", Fixture, NULL, setup, test_remotes, teardown);
  g_test_add ("/manifest/invalid-utf8", Fixture, NULL, setup, test_invalid_utf8, teardown);
  g_test_add ("/manifest/deep-nesting", Fixture, NULL, setup, test_deep_nesting, teardown);
  g_test_add ("/manifest/fifo-and-size", Fixture, NULL, setup, test_load_fifo_and_size, teardown);
  g_test_add ("/manifest/relative-paths", Fixture, NULL, setup,
              test_load_resolves_against_manifest_folder, teardown);
  g_test_add_func ("/manifest/os-names", test_os_names);
  return g_test_run ();
}
