/* gen-cli-data.c: how the data's schema and moves are shown (docs/data.md). */
#include <stdio.h>
#include <unistd.h>

#include "gen-cli.h"

void
gen_cli_warn_forced (const char *forced)
{
  if (!forced)
    return;
  gen_cli_progress_done ();
  gboolean color = gen_cli_color (STDERR_FILENO);
  fprintf (stderr, "%swarning:%s --force: %s\n", color ? "\033[1;33m" : "", color ? "\033[0m" : "",
           forced);
}

gboolean
gen_cli_data_readable (GenSysroot *sysroot, GenDataState *state, GenGeneration *g)
{
  /* Before the first generation there is no data to read. */
  return sysroot->last == 0 || gen_data_decl_reads (g->data, state->schema);
}

void
gen_cli_data_annotate (JsonNode *node, GenSysroot *sysroot, GenDataState *state, GenGeneration *g)
{
  JsonObject *o = json_node_get_object (node);
  JsonObject *data = json_object_get_object_member (o, "data");
  json_object_set_boolean_member (data, "readable", gen_cli_data_readable (sysroot, state, g));
}

char *
gen_cli_data_pending (GenDataState *state)
{
  if (!state->pending)
    return NULL;
  char buf[11];
  const char *release = state->pending_version;
  if (!release)
    {
      g_strlcpy (buf, state->pending_release ? state->pending_release : "?", sizeof buf);
      release = buf;
    }
  if (state->pending_status < 0)
    return g_strdup_printf ("step %u-%u of release %s began on %s and did not finish; the data "
                            "is at schema %u; the next 'gen switch' to that release runs the "
                            "step again",
                            state->pending_from, state->pending_to, release, state->pending_date,
                            state->schema);
  return g_strdup_printf ("step %u-%u of release %s failed on %s (%s %d); the data is at schema %u",
                          state->pending_from, state->pending_to, release, state->pending_date,
                          state->pending_status > 128 ? "signal" : "exit status",
                          state->pending_status > 128 ? state->pending_status - 128
                                                      : state->pending_status,
                          state->schema);
}

JsonNode *
gen_cli_data_state_json (GenSysroot *sysroot, GenDataState *state, GenGeneration *current)
{
  g_autoptr (JsonObject) o = json_object_new ();
  if (sysroot->last == 0)
    json_object_set_null_member (o, "schema");
  else
    json_object_set_int_member (o, "schema", state->schema);
  json_object_set_boolean_member (o, "readable",
                                  !current || gen_cli_data_readable (sysroot, state, current));
  if (state->pending)
    {
      JsonObject *p = json_object_new ();
      json_object_set_int_member (p, "from", state->pending_from);
      json_object_set_int_member (p, "to", state->pending_to);
      json_object_set_string_member (p, "release", state->pending_release);
      json_object_set_string_member (p, "version", state->pending_version);
      json_object_set_string_member (p, "date", state->pending_date);
      if (state->pending_status >= 0)
        json_object_set_int_member (p, "status", state->pending_status);
      else
        json_object_set_null_member (p, "status");
      json_object_set_object_member (o, "pending", p);
    }
  else
    json_object_set_null_member (o, "pending");
  JsonObject *forced = gen_data_state_last_forced (state);
  if (forced)
    json_object_set_object_member (o, "last_forced", json_object_ref (forced));
  else
    json_object_set_null_member (o, "last_forced");
  return json_node_init_object (json_node_alloc (), o);
}
