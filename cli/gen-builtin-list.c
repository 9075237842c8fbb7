/* gen list [--json]: the generations. */
#include <stdio.h>
#include <string.h>

#include "gen-builtins.h"
#include "gen-pin.h"

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

  if (json)
    {
      g_autoptr (JsonArray) arr = json_array_new ();
      for (guint i = 0; i < gens->len; i++)
        {
          JsonNode *node = gen_cli_generation_json (cli->sysroot, gens->pdata[i], booted, pins);
          gen_cli_data_annotate (node, cli->sysroot, data, gens->pdata[i]);
          json_array_add_element (arr, node);
        }
      g_autoptr (JsonObject) root = json_object_new ();
      json_object_set_array_member (root, "generations", g_steal_pointer (&arr));
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), root);
      gen_cli_print_json (node);
      return GEN_EXIT_OK;
    }

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
