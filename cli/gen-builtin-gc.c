/* gen gc [--keep N] [--dry-run] [--json]: remove old generations and what only they used. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-gc.h"
#include "gen-util.h"

static char *
format_bytes (guint64 bytes)
{
  /* "1.2 MiB (1234567 bytes)", or "829 bytes" */
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS | G_FORMAT_SIZE_LONG_FORMAT);
}

static JsonArray *
numbers_json (GArray *numbers)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < numbers->len; i++)
    json_array_add_int_element (a, g_array_index (numbers, guint, i));
  return a;
}

static JsonArray *
strings_json (GPtrArray *strings)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < strings->len; i++)
    json_array_add_string_element (a, strings->pdata[i]);
  return a;
}

int
gen_builtin_gc (GenCli *cli, int argc, char **argv)
{
  g_autofree char *keep_arg = NULL;
  gboolean dry_run = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "keep", 0, 0, G_OPTION_ARG_STRING, &keep_arg,
      "Keep the newest N generations (default: the default generation's boot.limit, else 5)", "N" },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Change nothing; say what would be removed",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (keys in gen-gc(1))", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL,
                      "Remove old generations, and the checkouts, kernels and store objects "
                      "only they used.  Keeps the current, default, booted and pinned "
                      "generations and the newest N.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen gc: unexpected argument '%s'", argv[1]);
  gint keep = -1;
  if (keep_arg)
    {
      guint64 n;
      if (!g_ascii_string_to_unsigned (keep_arg, 10, 0, G_MAXINT, &n, NULL))
        return gen_cli_usage_error ("gen gc: --keep needs a number, not '%s'", keep_arg);
      keep = n;
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (GenGcResult) r
      = gen_gc (cli->sysroot, keep, dry_run, gen_cli_progress, NULL, NULL, &error);
  gen_cli_progress_done ();
  if (!r)
    return gen_cli_error (error);

  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      json_object_set_boolean_member (o, "dry_run", dry_run);
      json_object_set_int_member (o, "keep", r->keep);
      json_object_set_array_member (o, "kept", numbers_json (r->kept));
      json_object_set_array_member (o, "removed", numbers_json (r->removed));
      json_object_set_array_member (o, "paths", strings_json (r->paths));
      json_object_set_array_member (o, "releases", strings_json (r->releases));
      json_object_set_array_member (o, "leftovers", strings_json (r->leftovers));
      json_object_set_int_member (o, "objects", r->objects);
      json_object_set_int_member (o, "bytes", r->bytes);
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
      gen_cli_print_json (node);
      return GEN_EXIT_OK;
    }

  for (guint i = 0; i < r->leftovers->len; i++)
    printf ("removed leftover: %s\n", (char *) r->leftovers->pdata[i]);
  g_autofree char *kept = gen_uint_array_string (r->kept);
  if (r->kept->len == 0)
    {
      printf ("nothing to remove: no generations yet\n");
      return GEN_EXIT_OK;
    }
  if (r->removed->len == 0)
    {
      printf ("nothing to remove: keeping generation%s %s\n", r->kept->len == 1 ? "" : "s", kept);
      return GEN_EXIT_OK;
    }
  const char *verb = dry_run ? "would remove" : "removed";
  g_autofree char *removed = gen_uint_array_string (r->removed);
  printf ("%s generation%s %s\n", verb, r->removed->len == 1 ? "" : "s", removed);
  for (guint i = 0; i < r->paths->len; i++)
    printf ("%s %s\n", verb, (char *) r->paths->pdata[i]);
  for (guint i = 0; i < r->releases->len; i++)
    printf ("%s release %.10s\n", verb, (char *) r->releases->pdata[i]);
  g_autofree char *bytes = format_bytes (r->bytes);
  printf ("%s %u store object%s; %s %s\n", verb, r->objects, r->objects == 1 ? "" : "s",
          dry_run ? "would free" : "freed", bytes);
  printf ("kept generation%s %s\n", r->kept->len == 1 ? "" : "s", kept);
  return GEN_EXIT_OK;
}
