#include "gen-cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-pin.h"
#include "gen-util.h"
#include "gen-watch.h"

gboolean
gen_cli_color (int fd)
{
  /* no-color.org: a NO_COLOR that is set and not empty turns colour off. */
  const char *no_color = g_getenv ("NO_COLOR");
  return isatty (fd) && (no_color == NULL || *no_color == '\0');
}

int
gen_cli_error (GError *error)
{
  gen_cli_progress_done ();
  gboolean color = gen_cli_color (STDERR_FILENO);
  /* One line, whatever text the message quotes. */
  g_autofree char *valid = g_utf8_make_valid (error->message, -1);
  g_autofree char *message = gen_escape_controls (valid);
  fprintf (stderr, "%serror:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "",
           message);
  return GEN_EXIT_FAILED;
}

int
gen_cli_usage_error (const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_autoptr (GError) error = g_error_new_literal (G_OPTION_ERROR, G_OPTION_ERROR_FAILED, msg);
  gen_cli_error (error);
  return GEN_EXIT_USAGE;
}

gboolean
gen_cli_parse (GenCli *cli, const char *args_synopsis, const char *summary, GOptionEntry *entries,
               int *argc, char ***argv)
{
  /* GOption prints "Usage: PRGNAME [OPTION…] ARGS", and without a prgname
   * takes argv[0], here the command's name: "list [OPTION…] list". */
  g_autofree char *prgname = g_strdup_printf ("gen %s", cli->command);
  g_set_prgname (prgname);
  g_autoptr (GOptionContext) ctx = g_option_context_new (args_synopsis);
  g_option_context_set_summary (ctx, summary);
  g_option_context_set_description (ctx, "Global option: --sysroot DIR (default /). See gen(1).");
  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      g_prefix_error (&error, "gen %s: ", cli->command);
      gen_cli_error (error);
      return FALSE;
    }
  return TRUE;
}

gboolean
gen_cli_parse_generation (const char *arg, guint *out, GError **error)
{
  guint64 n;
  if (!g_ascii_string_to_unsigned (arg, 10, 1, G_MAXINT, &n, NULL))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                   "'%s' is not a generation number", arg);
      return FALSE;
    }
  *out = n;
  return TRUE;
}

void
gen_cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static gboolean progress_shown;

void
gen_cli_progress (const char *step, guint64 done, guint64 total, gpointer user_data)
{
  if (!isatty (STDERR_FILENO))
    return;
  if (total > 0)
    fprintf (stderr, "\r\033[K%s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, step, done, total);
  else if (done > 0)
    fprintf (stderr, "\r\033[K%s: %" G_GUINT64_FORMAT " files", step, done);
  else
    fprintf (stderr, "\r\033[K%s…", step);
  fflush (stderr);
  progress_shown = TRUE;
}

void
gen_cli_progress_done (void)
{
  if (progress_shown)
    fprintf (stderr, "\r\033[K");
  progress_shown = FALSE;
}

JsonNode *
gen_cli_generation_json (GenSysroot *sysroot, GenGeneration *g, guint booted, const guint *pins)
{
  JsonNode *node = gen_generation_to_json (g);
  JsonObject *o = json_node_get_object (node);
  json_object_set_boolean_member (o, "current", g->number == sysroot->current);
  json_object_set_boolean_member (o, "default", g->number == sysroot->default_gen);
  json_object_set_boolean_member (o, "booted", g->number == booted);
  json_object_set_boolean_member (o, "pinned", gen_pins_contains (pins, g->number));
  return node;
}

char *
gen_cli_generation_flags (GenSysroot *sysroot, GenGeneration *g, guint booted, const guint *pins)
{
  g_autoptr (GPtrArray) flags = g_ptr_array_new ();
  if (g->number == sysroot->current)
    g_ptr_array_add (flags, (char *) "current");
  if (g->number == sysroot->default_gen)
    g_ptr_array_add (flags, (char *) "default");
  if (g->number == booted)
    g_ptr_array_add (flags, (char *) "booted");
  if (gen_pins_contains (pins, g->number))
    g_ptr_array_add (flags, (char *) "pinned");
  g_ptr_array_add (flags, NULL);
  return g_strjoinv (", ", (char **) flags->pdata);
}

/* The helper program @name: @override (an environment variable's value, or
 * NULL), else beside this program (the build tree, or a relocated install),
 * else in GEN_LIBEXECDIR.  NULL when none is executable. */
static char *
helper_path (const char *name, const char *override)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  g_autofree char *beside = NULL;
  if (n > 0)
    {
      self[n] = '\0';
      g_autofree char *dir = g_path_get_dirname (self);
      beside = g_build_filename (dir, name, NULL);
    }
  g_autofree char *installed = g_build_filename (GEN_LIBEXECDIR, name, NULL);
  const char *candidates[] = { override, beside, installed };
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] && g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return g_strdup (candidates[i]);
  return NULL;
}

/* Runs the same command line in gen-store.  Returns only on failure. */
int
gen_cli_exec_store (char **argv)
{
  g_autofree char *path = helper_path ("gen-store", g_getenv ("GEN_STORE_HELPER"));
  if (path)
    execv (path, argv);
  int errsv = path ? errno : ENOENT;
  g_autoptr (GError) error = g_error_new (G_IO_ERROR, g_io_error_from_errno (errsv),
                                          "cannot run gen-store (looked beside gen and in %s): %s",
                                          GEN_LIBEXECDIR, g_strerror (errsv));
  return gen_cli_error (error);
}

void
gen_cli_watch (GenCli *cli, GenManifest *m, gboolean watch)
{
  const char *folder = watch ? m->release_source : NULL;
  gen_watch_stop (cli->sysroot->dfd, folder);
  gboolean racy;
  g_autofree char *running = folder ? gen_watch_digest (cli->sysroot->dfd, folder, &racy) : NULL;
  if (!folder || running)
    return;
  /* One may still run with a folder the path no longer leads to. */
  gen_watch_stop_folder (cli->sysroot->dfd, folder);
  /* gen-watch returns once the watches are set, or says why they are not. */
  g_autofree char *path = helper_path ("gen-watch", NULL);
  g_autofree char *said = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  char *argv[] = { path, cli->sysroot->path, (char *) folder, NULL };
  if (!path)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "gen-watch is missing (looked beside gen and in %s)", GEN_LIBEXECDIR);
  else if (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &said, &status, &error)
           && !g_spawn_check_wait_status (status, NULL))
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                 said && *said ? g_strstrip (said) : "gen-watch failed");
  if (error)
    fprintf (stderr, "gen: warning: --watch: no watcher started: %s; the next switch reads the "
                     "folder's entries\n", error->message);
}
