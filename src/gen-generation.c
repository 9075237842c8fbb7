#include "gen-generation.h"

#include "gen-data.h"
#include "gen-error.h"

GenGeneration *
gen_generation_new (void)
{
  GenGeneration *g = g_new0 (GenGeneration, 1);
  g->data = gen_data_decl_new_undeclared ();
  g->data_paths = g_new0 (char *, 1);
  return g;
}

void
gen_generation_free (GenGeneration *g)
{
  if (!g)
    return;
  g_free (g->date);
  g_free (g->os);
  g_free (g->release_checksum);
  g_free (g->release_version);
  g_free (g->kernel_version);
  g_free (g->kernel_dir);
  g_strfreev (g->kernel_args);
  g_free (g->manifest_path);
  g_free (g->manifest_revision);
  g_free (g->config_digest);
  gen_data_decl_free (g->data);
  g_strfreev (g->data_paths);
  g_free (g->boot_loader);
  g_free (g);
}

static void
set_string_or_null (JsonObject *o, const char *name, const char *value)
{
  if (value)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static void
set_uint_or_null (JsonObject *o, const char *name, guint value)
{
  if (value)
    json_object_set_int_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

/* Built as objects, not with a JsonBuilder: `gen list --json` makes one per
 * generation, and the builder's bookkeeping was a third of its time. */
JsonNode *
gen_generation_to_json (GenGeneration *g)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "generation", g->number);
  set_string_or_null (o, "date", g->date);
  set_string_or_null (o, "os", g->os);

  JsonObject *rel = json_object_new ();
  set_string_or_null (rel, "checksum", g->release_checksum);
  set_string_or_null (rel, "version", g->release_version);
  set_uint_or_null (rel, "packages", g->release_packages);
  json_object_set_object_member (o, "release", rel);

  JsonObject *kernel = json_object_new ();
  set_string_or_null (kernel, "version", g->kernel_version);
  set_string_or_null (kernel, "dir", g->kernel_dir);
  json_object_set_boolean_member (kernel, "initrd", g->has_initrd);
  JsonArray *args = json_array_new ();
  for (char **a = g->kernel_args; a && *a; a++)
    json_array_add_string_element (args, *a);
  json_object_set_array_member (kernel, "args", args);
  json_object_set_object_member (o, "kernel", kernel);

  JsonObject *man = json_object_new ();
  set_string_or_null (man, "path", g->manifest_path);
  set_string_or_null (man, "revision", g->manifest_revision);
  json_object_set_boolean_member (man, "dirty", g->manifest_dirty);
  json_object_set_object_member (o, "manifest", man);

  set_string_or_null (o, "config_digest", g->config_digest);

  JsonObject *boot = json_object_new ();
  set_string_or_null (boot, "loader", g->boot_loader);
  set_uint_or_null (boot, "limit", g->boot_limit);
  json_object_set_object_member (o, "boot", boot);

  /* Last: `gen list --json` adds "readable" to it (gen_generation_json_text). */
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gen_data_add_json (b, g->data, g->data_paths);
  json_object_set_member (o, "data", json_builder_get_root (b));
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

char *
gen_generation_json_text (GenGeneration *g)
{
  g_autoptr (JsonNode) node = gen_generation_to_json (g);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static char *
dup_member (JsonObject *obj, const char *name)
{
  if (!obj)
    return NULL;
  JsonNode *n = json_object_get_member (obj, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

static JsonObject *
object_member (JsonObject *obj, const char *name)
{
  JsonNode *n = obj ? json_object_get_member (obj, name) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

GenGeneration *
gen_generation_from_json (JsonNode *node, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "generation record is not a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GenGeneration) g = gen_generation_new ();
  gint64 number = json_object_get_int_member_with_default (o, "generation", 0);
  if (number <= 0 || number > G_MAXINT)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "generation record has no valid number");
      return NULL;
    }
  g->number = number;
  g->date = dup_member (o, "date");
  g->os = dup_member (o, "os");
  JsonObject *rel = object_member (o, "release");
  g->release_checksum = dup_member (rel, "checksum");
  g->release_version = dup_member (rel, "version");
  gint64 packages = rel ? json_object_get_int_member_with_default (rel, "packages", 0) : 0;
  g->release_packages = packages > 0 && packages <= G_MAXUINT ? packages : 0;
  JsonObject *kernel = object_member (o, "kernel");
  g->kernel_version = dup_member (kernel, "version");
  g->kernel_dir = dup_member (kernel, "dir");
  g->has_initrd = kernel && json_object_get_boolean_member_with_default (kernel, "initrd", FALSE);
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();
  JsonArray *arr = kernel && json_object_has_member (kernel, "args")
                       ? json_object_get_array_member (kernel, "args")
                       : NULL;
  for (guint i = 0; arr && i < json_array_get_length (arr); i++)
    {
      const char *s = json_array_get_string_element (arr, i);
      if (s)
        g_strv_builder_add (args, s);
    }
  g->kernel_args = g_strv_builder_end (args);
  JsonObject *man = object_member (o, "manifest");
  g->manifest_path = dup_member (man, "path");
  g->manifest_revision = dup_member (man, "revision");
  g->manifest_dirty = man && json_object_get_boolean_member_with_default (man, "dirty", FALSE);
  g->config_digest = dup_member (o, "config_digest");
  gen_data_decl_free (g->data);
  g_strfreev (g->data_paths);
  gen_data_from_json (o, &g->data, &g->data_paths);
  /* Records written before boot settings existed have none: the defaults. */
  JsonObject *boot = object_member (o, "boot");
  g->boot_loader = dup_member (boot, "loader");
  gint64 limit = boot ? json_object_get_int_member_with_default (boot, "limit", 0) : 0;
  g->boot_limit = limit > 0 && limit <= G_MAXINT ? limit : 0;
  if (!g->release_checksum || !g->os)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                   "generation %u record lacks its release or OS", g->number);
      return NULL;
    }
  return g_steal_pointer (&g);
}

char *
gen_generation_kernel_cmdline (GenGeneration *g)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (char **a = g->kernel_args; a && *a; a++)
    g_string_append_printf (s, "%s ", *a);
  g_string_append_printf (s, "gen.os=%s gen.generation=%u gen.release=%s", g->os, g->number,
                          g->release_checksum);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
gen_generation_boot_equal (GenGeneration *a, GenGeneration *b)
{
  /* A record without boot settings has the defaults. */
  const char *la = a->boot_loader ? a->boot_loader : "systemd-boot";
  const char *lb = b->boot_loader ? b->boot_loader : "systemd-boot";
  return g_str_equal (la, lb) && a->boot_limit == b->boot_limit;
}

const char *
gen_generation_release_label (GenGeneration *g, char buf[static 11])
{
  if (g->release_version)
    return g->release_version;
  g_strlcpy (buf, g->release_checksum, 11);
  return buf;
}

GenGeneration *
gen_generation_copy (GenGeneration *g)
{
  GenGeneration *c = gen_generation_new ();
  c->number = g->number;
  c->date = g_strdup (g->date);
  c->os = g_strdup (g->os);
  c->release_checksum = g_strdup (g->release_checksum);
  c->release_version = g_strdup (g->release_version);
  c->kernel_version = g_strdup (g->kernel_version);
  c->kernel_dir = g_strdup (g->kernel_dir);
  c->has_initrd = g->has_initrd;
  c->kernel_args = g_strdupv (g->kernel_args);
  c->boot_loader = g_strdup (g->boot_loader);
  c->boot_limit = g->boot_limit;
  c->release_packages = g->release_packages;
  c->manifest_path = g_strdup (g->manifest_path);
  c->manifest_revision = g_strdup (g->manifest_revision);
  c->manifest_dirty = g->manifest_dirty;
  c->config_digest = g_strdup (g->config_digest);
  gen_data_decl_free (c->data);
  c->data = gen_data_decl_copy (g->data);
  g_strfreev (c->data_paths);
  c->data_paths = g_strdupv (g->data_paths);
  return c;
}
