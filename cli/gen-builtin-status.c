/* gen status [--json]: the current, default and booted generation. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-pin.h"
#include "gen-watch.h"

static void
set_generation_or_null (JsonObject *o, const char *name, guint n)
{
  if (n)
    json_object_set_int_member (o, name, n);
  else
    json_object_set_null_member (o, name);
}

/* The data's schema, whether the current generation reads it, its paths. */
static void
print_data (GenSysroot *s, GenDataState *data, GenGeneration *current)
{
  g_autofree char *reads = gen_data_decl_reads_string (current->data);
  if (gen_cli_data_readable (s, data, current))
    printf ("data:      schema %u (generation %u reads %s)\n", data->schema, current->number,
            reads);
  else
    {
      JsonObject *forced = gen_data_state_last_forced (data);
      printf ("data:      schema %u, which generation %u does NOT read (it reads %s)", data->schema,
              current->number, reads);
      if (forced)
        printf ("; made current with --force on %s",
                json_object_get_string_member_with_default (forced, "date", "?"));
      printf ("\n");
    }
  for (char **p = current->data_paths; *p; p++)
    {
      g_autofree char *storage = gen_data_path_storage (*p);
      printf ("%s%s (%s)\n", p == current->data_paths ? "paths:     " : "           ", *p, storage);
    }
  g_autofree char *pending = gen_cli_data_pending (data);
  if (pending)
    printf ("migration: %s\n", pending);
}

int
gen_builtin_status (GenCli *cli, int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (keys in gen-status(1))", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL, "Show the current, default and booted generation.", entries,
                      &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen status: unexpected argument '%s'", argv[1]);

  GenSysroot *s = cli->sysroot;
  g_autoptr (GError) error = NULL;
  g_autoptr (GenGeneration) current = NULL;
  if (s->current && !(current = gen_sysroot_load_generation (s, s->current, &error)))
    return gen_cli_error (error);
  guint booted = gen_sysroot_booted (s);
  g_autoptr (GenDataState) data = gen_data_state_load (s, &error);
  if (!data)
    return gen_cli_error (error);
  g_autofree guint *pins = gen_pins_load (s, &error);
  if (!pins)
    return gen_cli_error (error);
  g_autoptr (GPtrArray) watching = gen_watch_list (s->dfd);

  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "sysroot", s->path);
      if (s->os)
        json_object_set_string_member (o, "os", s->os);
      else
        json_object_set_null_member (o, "os");
      set_generation_or_null (o, "current", s->current);
      set_generation_or_null (o, "default", s->default_gen);
      set_generation_or_null (o, "booted", booted);
      json_object_set_int_member (o, "last", s->last);
      JsonArray *pinned = json_array_new ();
      for (guint *p = pins; *p; p++)
        json_array_add_int_element (pinned, *p);
      json_object_set_array_member (o, "pinned", pinned);
      JsonArray *watched = json_array_new ();
      for (guint i = 0; i < watching->len; i++)
        json_array_add_string_element (watched, watching->pdata[i]);
      json_object_set_array_member (o, "watching", watched);
      json_object_set_member (o, "data", gen_cli_data_state_json (s, data, current));
      if (current)
        {
          JsonNode *node = gen_cli_generation_json (s, current, booted, pins);
          gen_cli_data_annotate (node, s, data, current);
          json_object_set_member (o, "generation", node);
        }
      else
        json_object_set_null_member (o, "generation");
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
      gen_cli_print_json (node);
      return GEN_EXIT_OK;
    }

  printf ("sysroot:   %s\n", s->path);
  printf ("os:        %s\n", s->os ? s->os : "(not set yet)");
  if (!current)
    {
      printf ("current:   none (make a generation with 'gen switch MANIFEST')\n");
      return GEN_EXIT_OK;
    }
  char buf[11];
  printf ("current:   generation %u, release %s (%.10s), made %s\n", current->number,
          gen_generation_release_label (current, buf), current->release_checksum, current->date);
  if (s->default_gen == s->current)
    printf ("default:   generation %u (same)\n", s->default_gen);
  else
    printf ("default:   generation %u (differs: the next boot starts it)\n", s->default_gen);
  if (booted)
    printf ("booted:    generation %u\n", booted);
  else
    printf ("booted:    none (this sysroot is not the running system)\n");
  if (*pins)
    {
      g_autoptr (GString) list = g_string_new (NULL);
      for (guint *p = pins; *p; p++)
        g_string_append_printf (list, "%s%u", p == pins ? "" : ", ", *p);
      printf ("pinned:    generation%s %s\n", pins[1] ? "s" : "", list->str);
    }
  g_autofree char *args = g_strjoinv (" ", current->kernel_args);
  printf ("kernel:    %s%s%s\n", current->kernel_version ? current->kernel_version : "-",
          *args ? ", args: " : "", args);
  printf ("manifest:  %s", current->manifest_path ? current->manifest_path : "-");
  if (current->manifest_revision)
    printf (" (git %.12s%s)", current->manifest_revision,
            current->manifest_dirty ? ", with uncommitted changes" : "");
  printf ("\n");
  print_data (s, data, current);
  for (guint i = 0; i < watching->len; i++)
    printf ("watching:  %s (gen switch --watch)\n", (char *) watching->pdata[i]);
  return GEN_EXIT_OK;
}
