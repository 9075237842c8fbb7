/* gen fsck [--repair] [--json]: check the store, the generations and the boot menu. */
#include <stdio.h>

#include "gen-builtins.h"
#include "gen-error.h"
#include "gen-fsck.h"

static JsonNode *
result_json (GenFsckResult *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->problems->len; i++)
    {
      GenFsckProblem *p = r->problems->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, p->path);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, p->message);
      json_builder_set_member_name (b, "repairable");
      json_builder_add_boolean_value (b, p->repairable);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "repaired");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->repairs->len; i++)
    json_builder_add_string_value (b, r->repairs->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "generations");
  json_builder_add_int_value (b, r->generations);
  json_builder_set_member_name (b, "releases");
  json_builder_add_int_value (b, r->releases);
  json_builder_set_member_name (b, "objects");
  json_builder_add_int_value (b, r->objects);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

int
gen_builtin_fsck (GenCli *cli, int argc, char **argv)
{
  gboolean repair = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "repair", 0, 0, G_OPTION_ARG_NONE, &repair, "Do the safe repairs first, and say what was done", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (keys in gen-fsck(1))", NULL },
    { NULL },
  };
  if (!gen_cli_parse (cli, NULL,
                      "Check the store, every generation (record, overlay, release checkout, "
                      "kernel, boot entry), the boot menu and the pointers; print each problem.",
                      entries, &argc, &argv))
    return GEN_EXIT_USAGE;
  if (argc > 1)
    return gen_cli_usage_error ("gen fsck: unexpected argument '%s'", argv[1]);

  g_autoptr (GError) error = NULL;
  g_autoptr (GenFsckResult) r
      = gen_fsck (cli->sysroot, repair ? GEN_FSCK_REPAIR : GEN_FSCK_NONE, NULL, &error);
  if (!r)
    return gen_cli_error (error);

  if (json)
    {
      g_autoptr (JsonNode) node = result_json (r);
      gen_cli_print_json (node);
    }
  else
    {
      for (guint i = 0; i < r->repairs->len; i++)
        printf ("repaired: %s\n", (char *) r->repairs->pdata[i]);
      guint repairable = 0;
      for (guint i = 0; i < r->problems->len; i++)
        {
          GenFsckProblem *p = r->problems->pdata[i];
          repairable += p->repairable;
          printf ("problem: %s: %s%s\n", p->path, p->message,
                  p->repairable ? " [repairable]" : "");
        }
      printf ("checked %u generation%s, %u release%s, %u store object%s: ", r->generations,
              r->generations == 1 ? "" : "s", r->releases, r->releases == 1 ? "" : "s",
              r->objects, r->objects == 1 ? "" : "s");
      if (r->problems->len == 0)
        printf ("no problems\n");
      else
        printf ("%u problem%s, %u repairable with 'gen fsck --repair'\n", r->problems->len,
                r->problems->len == 1 ? "" : "s", repairable);
    }
  if (r->problems->len == 0)
    return GEN_EXIT_OK;
  g_set_error (&error, GEN_ERROR, GEN_ERROR_FAILED, "%u problem%s found", r->problems->len,
               r->problems->len == 1 ? "" : "s");
  return gen_cli_error (error);
}
