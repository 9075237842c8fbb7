/* gen list [--json]: the generations. */
#include <stdio.h>
#include <string.h>

#include "gen-builtins.h"
#include "gen-pin.h"

static const char *
json_bool (gboolean b)
{
  return b ? "true" : "false";
}

/* {"generations": [...]}, one generation a line: each the record as the
 * index keeps it in JSON (gen_generation_json_text(), "data" last), with
 * data.readable, current, default, booted and pinned added.  No JSON tree
 * is built: at 1,000 generations building and printing trees was most of
 * the time (docs/BENCHMARKS.md). */
static gboolean
print_json (GenSysroot *s, GError **error)
{
  g_autoptr (GArray) numbers = gen_sysroot_generation_numbers (s, error);
  if (!numbers)
    return FALSE;
  guint booted = gen_sysroot_booted (s);
  g_autoptr (GenDataState) data = gen_data_state_load (s, error);
  if (!data)
    return FALSE;
  g_autofree guint *pins = gen_pins_load (s, NULL);
  g_autoptr (GString) out = g_string_new ("{\n  \"generations\" : [");
  for (guint i = 0; i < numbers->len; i++)
    {
      guint n = g_array_index (numbers, guint, i);
      gboolean reads;
      const char *json = gen_sysroot_listed_json (s, n, data->schema, &reads);
      g_autofree char *own = NULL;
      if (!json || !g_str_has_suffix (json, "}}"))
        {
          /* Not as gen writes it: made again from the record. */
          GenGeneration *g = gen_sysroot_listed_generation (s, n);
          json = own = gen_generation_json_text (g);
          reads = gen_data_decl_reads (g->data, data->schema);
        }
      g_string_append (out, i ? ",\n    " : "\n    ");
      g_string_append_len (out, json, strlen (json) - 2);
      g_string_append_printf (out,
                              ",\"readable\":%s},\"current\":%s,\"default\":%s,\"booted\":%s,"
                              "\"pinned\":%s}",
                              json_bool (reads), json_bool (n == s->current),
                              json_bool (n == s->default_gen), json_bool (n == booted),
                              json_bool (gen_pins_contains (pins, n)));
    }
  g_string_append (out, numbers->len ? "\n  ]\n}\n" : "]\n}\n");
  fwrite (out->str, 1, out->len, stdout);
  return TRUE;
}

int
gen_builtin_list (GenCli *cli, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (keys in gen-list(1))", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL, "List the generations, oldest first.", entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen list: unexpected argument '%s'", argv[1]);

  g_autoptr (GError) error = NULL;
  if (json)
    return print_json (cli->sysroot, &error) ? GEN_EXIT_OK : gen_cli_error (error);
  g_autoptr (GPtrArray) gens = gen_sysroot_list_generations (cli->sysroot, &error);
  if (!gens)
    return gen_cli_error (error);
  guint booted = gen_sysroot_booted (cli->sysroot);
  g_autoptr (GenDataState) data = gen_data_state_load (cli->sysroot, &error);
  if (!data)
    return gen_cli_error (error);
  /* Once, not once per generation: a gen/pins.json that cannot be read
   * shows nothing pinned, as before. */
  g_autofree guint *pins = gen_pins_load (cli->sysroot, NULL);

  if (gens->len == 0)
    {
      printf ("no generations yet (make one with 'gen switch MANIFEST')\n");
      return GEN_EXIT_OK;
    }
  printf ("%4s  %-20s  %-16s  %-10s  %-16s  %-4s  %s\n", "GEN", "DATE", "RELEASE", "CHECKSUM",
          "KERNEL", "DATA", "STATE");
  for (guint i = 0; i < gens->len; i++)
    {
      GenGeneration *g = gens->pdata[i];
      g_autofree char *flags = gen_cli_generation_flags (cli->sysroot, g, booted, pins);
      g_autofree char *date = g_strdup (g->date ? g->date : "-");
      if (strlen (date) >= 19)
        {
          date[10] = ' ';
          date[19] = '\0';
        }
      if (!gen_cli_data_readable (cli->sysroot, data, g))
        {
          g_autofree char *more = g_strdup_printf ("%s%scannot read data %u", flags,
                                                   *flags ? ", " : "", data->schema);
          g_free (flags);
          flags = g_steal_pointer (&more);
        }
      printf ("%4u  %-20s  %-16s  %-10.10s  %-16s  %-4u  %s\n", g->number, date,
              g->release_version ? g->release_version : "-", g->release_checksum,
              g->kernel_version ? g->kernel_version : "-", g->data->schema, flags);
    }
  return GEN_EXIT_OK;
}
