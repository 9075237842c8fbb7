#include "gen-data.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-util.h"

/* --- declarations ---------------------------------------------------------- */

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GenDataDecl *
gen_data_decl_new_undeclared (void)
{
  GenDataDecl *d = g_new0 (GenDataDecl, 1);
  d->source = GEN_DATA_UNDECLARED;
  d->reads = g_array_new (FALSE, FALSE, sizeof (guint));
  guint zero = 0;
  g_array_append_val (d->reads, zero);
  return d;
}

GenDataDecl *
gen_data_decl_copy (const GenDataDecl *d)
{
  GenDataDecl *c = g_new0 (GenDataDecl, 1);
  c->source = d->source;
  c->schema = d->schema;
  c->reads = g_array_copy (d->reads);
  return c;
}

void
gen_data_decl_free (GenDataDecl *d)
{
  if (!d)
    return;
  g_clear_pointer (&d->reads, g_array_unref);
  g_free (d);
}

gboolean
gen_data_decl_equal (const GenDataDecl *a, const GenDataDecl *b)
{
  if (a->schema != b->schema || a->reads->len != b->reads->len)
    return FALSE;
  return memcmp (a->reads->data, b->reads->data, a->reads->len * sizeof (guint)) == 0;
}

gboolean
gen_data_decl_reads (const GenDataDecl *d, guint schema)
{
  return gen_data_reads_contain ((const guint *) d->reads->data, d->reads->len, schema);
}

gboolean
gen_data_reads_contain (const guint *reads, gsize n, guint schema)
{
  for (gsize i = 0; i < n; i++)
    if (reads[i] == schema)
      return TRUE;
  return FALSE;
}

char *
gen_data_decl_reads_string (const GenDataDecl *d)
{
  return gen_uint_array_string (d->reads);
}

const char *
gen_data_source_name (GenDataSource source)
{
  switch (source)
    {
    case GEN_DATA_BY_RELEASE:
      return "release";
    case GEN_DATA_BY_MANIFEST:
      return "manifest";
    case GEN_DATA_UNDECLARED:
      break;
    }
  return NULL;
}

static gboolean decl_fail (GError **error, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
decl_fail (GError **error, const char *key, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "%s: %s", key, msg);
  return FALSE;
}

/* A schema number: a JSON integer from 0 to G_MAXINT. */
static gboolean
parse_schema_number (JsonNode *node, const char *key, guint *out, GError **error)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return decl_fail (error, key, "expected a schema number (an integer from 0)");
  gint64 v = json_node_get_int (node);
  if (v < 0 || v > G_MAXINT)
    return decl_fail (error, key, "%" G_GINT64_FORMAT " is not a schema number (0 to %d)", v,
                      G_MAXINT);
  *out = v;
  return TRUE;
}

GenDataDecl *
gen_data_decl_parse (JsonNode *node, const char *key, GenDataSource source, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_OBJECT (node))
    {
      decl_fail (error, key, "expected an object like {\"schema\": 2, \"reads\": [2, 3]}");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    if (!g_str_equal (l->data, "schema") && !g_str_equal (l->data, "reads"))
      {
        g_autofree char *k = g_strdup_printf ("%s.%s", key, (const char *) l->data);
        decl_fail (error, k, "unknown key (expected 'schema', 'reads')");
        return NULL;
      }
  g_autoptr (GenDataDecl) d = gen_data_decl_new_undeclared ();
  d->source = source;
  g_autofree char *schema_key = g_strdup_printf ("%s.schema", key);
  JsonNode *schema = json_object_get_member (o, "schema");
  if (!schema)
    {
      decl_fail (error, schema_key, "missing");
      return NULL;
    }
  if (!parse_schema_number (schema, schema_key, &d->schema, error))
    return NULL;
  g_array_set_size (d->reads, 0);
  g_autofree char *reads_key = g_strdup_printf ("%s.reads", key);
  JsonNode *reads = json_object_get_member (o, "reads");
  if (!reads)
    g_array_append_val (d->reads, d->schema);
  else if (!JSON_NODE_HOLDS_ARRAY (reads))
    {
      decl_fail (error, reads_key, "expected an array of schema numbers");
      return NULL;
    }
  else
    {
      JsonArray *arr = json_node_get_array (reads);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          g_autofree char *k = g_strdup_printf ("%s[%u]", reads_key, i);
          guint v;
          if (!parse_schema_number (json_array_get_element (arr, i), k, &v, error))
            return NULL;
          if (gen_data_decl_reads (d, v))
            {
              decl_fail (error, k, "%u is listed twice", v);
              return NULL;
            }
          g_array_append_val (d->reads, v);
        }
      g_array_sort (d->reads, compare_uint);
      if (!gen_data_decl_reads (d, d->schema))
        {
          decl_fail (
              error, reads_key,
              "must include the schema the release writes (%u): a release reads its own data",
              d->schema);
          return NULL;
        }
    }
  return g_steal_pointer (&d);
}

gboolean
gen_data_decl_parse_release_file (const char *text, gsize len, GenDataDecl **out, GError **error)
{
  *out = NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  if (!json_parser_load_from_data (parser, text, len, &local_error))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "%s: not valid JSON: %s",
                   GEN_DATA_RELEASE_FILE, local_error->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                   "%s: expected a JSON object at the top", GEN_DATA_RELEASE_FILE);
      return FALSE;
    }
  JsonNode *data = json_object_get_member (json_node_get_object (root), "data");
  if (!data)
    return TRUE;
  *out = gen_data_decl_parse (data, "data", GEN_DATA_BY_RELEASE, error);
  if (!*out)
    {
      g_prefix_error (error, "%s: ", GEN_DATA_RELEASE_FILE);
      return FALSE;
    }
  return TRUE;
}

static char *
decl_describe (const GenDataDecl *d)
{
  g_autofree char *reads = gen_data_decl_reads_string (d);
  return g_strdup_printf ("schema %u, reads %s", d->schema, reads);
}

GenDataDecl *
gen_data_decl_choose (const GenDataDecl *from_tree, const GenDataDecl *from_manifest,
                      GError **error)
{
  if (from_tree && from_manifest && !gen_data_decl_equal (from_tree, from_manifest))
    {
      g_autofree char *tree = decl_describe (from_tree);
      g_autofree char *manifest = decl_describe (from_manifest);
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "release.data (%s) contradicts the release's own %s (%s): remove "
                   "release.data from the manifest",
                   manifest, GEN_DATA_RELEASE_FILE, tree);
      return NULL;
    }
  if (from_tree)
    return gen_data_decl_copy (from_tree);
  if (from_manifest)
    return gen_data_decl_copy (from_manifest);
  return gen_data_decl_new_undeclared ();
}

void
gen_data_add_json (JsonBuilder *b, const GenDataDecl *d, GStrv paths)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schema");
  json_builder_add_int_value (b, d->schema);
  json_builder_set_member_name (b, "reads");
  json_builder_begin_array (b);
  for (guint i = 0; i < d->reads->len; i++)
    json_builder_add_int_value (b, g_array_index (d->reads, guint, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "declared_by");
  const char *source = gen_data_source_name (d->source);
  if (source)
    json_builder_add_string_value (b, source);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "paths");
  json_builder_begin_array (b);
  for (char **p = paths; p && *p; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

void
gen_data_from_json (JsonObject *record, GenDataDecl **out_decl, GStrv *out_paths)
{
  g_autoptr (GStrvBuilder) paths = g_strv_builder_new ();
  JsonNode *node = json_object_get_member (record, "data");
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  GenDataDecl *d = NULL;
  if (o)
    {
      /* The record was written by gen: a bad value reads as undeclared. */
      g_autoptr (JsonObject) decl = json_object_new ();
      for (guint i = 0; i < 2; i++)
        {
          const char *name = i ? "reads" : "schema";
          JsonNode *member = json_object_get_member (o, name);
          if (member)
            json_object_set_member (decl, name, json_node_copy (member));
        }
      g_autoptr (JsonNode) decl_node = json_node_init_object (json_node_alloc (), decl);
      const char *source = json_object_get_string_member_with_default (o, "declared_by", NULL);
      d = gen_data_decl_parse (decl_node, "data",
                               g_strcmp0 (source, "release") == 0    ? GEN_DATA_BY_RELEASE
                               : g_strcmp0 (source, "manifest") == 0 ? GEN_DATA_BY_MANIFEST
                                                                     : GEN_DATA_UNDECLARED,
                               NULL);
      JsonNode *pn = json_object_get_member (o, "paths");
      JsonArray *arr = pn && JSON_NODE_HOLDS_ARRAY (pn) ? json_node_get_array (pn) : NULL;
      for (guint i = 0; arr && i < json_array_get_length (arr); i++)
        {
          const char *p = json_array_get_string_element (arr, i);
          if (p)
            g_strv_builder_add (paths, p);
        }
    }
  *out_decl = d ? d : gen_data_decl_new_undeclared ();
  *out_paths = g_strv_builder_end (paths);
}

/* --- data paths ------------------------------------------------------------ */

gboolean
gen_data_path_check (const char *path, GError **error)
{
  const char *why = NULL;
  if (path[0] != '/')
    why = "must be an absolute path";
  else if (g_str_equal (path, "/"))
    why = "must not be / itself";
  else if (strlen (path) > 1024)
    why = "must be at most 1024 bytes";
  for (const char *p = path; !why && *p; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f || *p == ':' || *p == '\\')
      why = "must not contain spaces, control characters, ':' or '\\'";
  if (!why)
    {
      g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
      for (char **p = parts; !why && *p; p++)
        if (**p == '\0' || g_str_equal (*p, ".") || g_str_equal (*p, ".."))
          why = "must not have empty, '.' or '..' parts";
      /* What the release owns, what gen owns, what the kernel provides. */
      static const char *const refused[]
          = { "etc",   "usr",    "boot", "gen", "bin", "sbin", "lib", "lib32",
              "lib64", "libx32", "proc", "sys", "dev", "run",  "tmp" };
      for (guint i = 0; !why && i < G_N_ELEMENTS (refused); i++)
        if (g_str_equal (parts[0], refused[i]))
          why = "must not be in /etc, /usr, /boot, /gen, /bin, /sbin, /lib*, /proc, /sys, "
                "/dev, /run or /tmp";
    }
  if (!why)
    return TRUE;
  g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "'%s' %s", path, why);
  return FALSE;
}

char *
gen_data_path_storage (const char *path)
{
  if (g_str_equal (path, "/var"))
    return g_strdup ("var");
  if (g_str_has_prefix (path, "/var/"))
    return g_strdup (path + 1);
  return g_strconcat (GEN_DATA_STORE_DIR, path, NULL);
}

gboolean
gen_data_prepare_paths (GenSysroot *s, GStrv paths, GError **error)
{
  for (char **p = paths; p && *p; p++)
    {
      g_autofree char *storage = gen_data_path_storage (*p);
      if (gen_exists_at (s->dfd, storage))
        continue;
      g_autofree char *parent = g_path_get_dirname (storage);
      if (!gen_mkdir_p_at (s->dfd, storage, 0755, error)
          || !gen_fsync_dir_at (s->dfd, parent, error))
        {
          g_prefix_error (error, "creating data path %s: ", *p);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
gen_data_write_paths_file (GenSysroot *s, const char *dir, GStrv paths, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  for (char **p = paths; p && *p; p++)
    {
      if (g_str_equal (*p, "/var") || g_str_has_prefix (*p, "/var/"))
        continue; /* the bind of var/ on /var covers it */
      g_autofree char *storage = gen_data_path_storage (*p);
      g_string_append_printf (text, "%s %s\n", storage, *p);
    }
  g_autofree char *path = g_build_filename (dir, GEN_DATA_PATHS_FILE, NULL);
  return gen_write_new_file_at (s->dfd, path, text->str, text->len, 0644, error);
}

/* --- gen/data.json --------------------------------------------------------- */

void
gen_data_state_free (GenDataState *st)
{
  if (!st)
    return;
  g_free (st->pending_release);
  g_free (st->pending_version);
  g_free (st->pending_date);
  g_clear_pointer (&st->history, json_array_unref);
  g_free (st);
}

GenDataState *
gen_data_state_load (GenSysroot *s, GError **error)
{
  g_autoptr (GenDataState) st = g_new0 (GenDataState, 1);
  st->pending_status = -1;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = gen_read_file_at (s->dfd, GEN_DATA_STATE_FILE, NULL, &local_error);
  if (!text)
    {
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      st->history = json_array_new ();
      return g_steal_pointer (&st);
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    {
      g_prefix_error (error, "reading %s: ", GEN_DATA_STATE_FILE);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  gint64 schema = o ? json_object_get_int_member_with_default (o, "schema", -1) : -1;
  if (schema < 0 || schema > G_MAXINT)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "reading %s: no valid \"schema\"",
                   GEN_DATA_STATE_FILE);
      return NULL;
    }
  st->exists = TRUE;
  st->schema = schema;
  JsonNode *pending = json_object_get_member (o, "pending");
  if (pending && JSON_NODE_HOLDS_OBJECT (pending))
    {
      JsonObject *p = json_node_get_object (pending);
      st->pending = TRUE;
      st->pending_from = json_object_get_int_member_with_default (p, "from", 0);
      st->pending_to = json_object_get_int_member_with_default (p, "to", 0);
      st->pending_release
          = g_strdup (json_object_get_string_member_with_default (p, "release", NULL));
      st->pending_version
          = g_strdup (json_object_get_string_member_with_default (p, "version", NULL));
      st->pending_date = g_strdup (json_object_get_string_member_with_default (p, "date", NULL));
      JsonNode *status = json_object_get_member (p, "status");
      st->pending_status
          = status && JSON_NODE_HOLDS_VALUE (status) ? json_node_get_int (status) : -1;
    }
  JsonNode *history = json_object_get_member (o, "history");
  st->history = history && JSON_NODE_HOLDS_ARRAY (history)
                    ? json_array_ref (json_node_get_array (history))
                    : json_array_new ();
  return g_steal_pointer (&st);
}

gboolean
gen_data_state_save (GenSysroot *s, GenDataState *st, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  json_object_set_int_member (o, "format", 1);
  json_object_set_int_member (o, "schema", st->schema);
  if (st->pending)
    {
      JsonObject *p = json_object_new ();
      json_object_set_int_member (p, "from", st->pending_from);
      json_object_set_int_member (p, "to", st->pending_to);
      json_object_set_string_member (p, "release", st->pending_release);
      json_object_set_string_member (p, "version", st->pending_version);
      json_object_set_string_member (p, "date", st->pending_date);
      if (st->pending_status >= 0)
        json_object_set_int_member (p, "status", st->pending_status);
      else
        json_object_set_null_member (p, "status");
      json_object_set_object_member (o, "pending", p);
    }
  else
    json_object_set_null_member (o, "pending");
  json_object_set_array_member (o, "history", json_array_ref (st->history));
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), o);
  g_autofree char *json = json_to_string (root, TRUE);
  g_autofree char *text = g_strconcat (json, "\n", NULL);
  if (!gen_write_file_at (s->dfd, GEN_DATA_STATE_FILE, text, strlen (text), 0644, error))
    {
      g_prefix_error (error, "recording the data schema: ");
      return FALSE;
    }
  st->exists = TRUE;
  return TRUE;
}

JsonObject *
gen_data_state_last_forced (GenDataState *st)
{
  for (guint i = json_array_get_length (st->history); i > 0; i--)
    {
      JsonNode *n = json_array_get_element (st->history, i - 1);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *e = json_node_get_object (n);
      if (g_strcmp0 (json_object_get_string_member_with_default (e, "event", NULL), "forced") == 0)
        return e;
    }
  return NULL;
}

static JsonObject *
history_event (GenDataState *st, const char *event)
{
  JsonObject *e = json_object_new ();
  g_autofree char *date = gen_iso8601_now ();
  json_object_set_string_member (e, "date", date);
  json_object_set_string_member (e, "event", event);
  json_array_add_object_element (st->history, e);
  return e;
}

/* --- steps ----------------------------------------------------------------- */

void
gen_data_step_free (GenDataStep *step)
{
  if (!step)
    return;
  g_free (step->name);
  g_free (step);
}

GenDataStep *
gen_data_step_parse (const char *name, gboolean executable)
{
  const char *dash = strchr (name, '-');
  if (!dash)
    return NULL;
  g_autofree char *a = g_strndup (name, dash - name);
  guint64 from, to;
  if (!g_ascii_string_to_unsigned (a, 10, 0, G_MAXINT, &from, NULL)
      || !g_ascii_string_to_unsigned (dash + 1, 10, 0, G_MAXINT, &to, NULL) || from >= to)
    return NULL;
  GenDataStep *step = g_new0 (GenDataStep, 1);
  step->from = from;
  step->to = to;
  step->name = g_strdup (name);
  step->executable = executable;
  return step;
}

static GenDataStep *
step_copy (const GenDataStep *s)
{
  GenDataStep *c = g_new0 (GenDataStep, 1);
  *c = *s;
  c->name = g_strdup (s->name);
  return c;
}

static gint
step_compare (gconstpointer a, gconstpointer b)
{
  const GenDataStep *x = *(GenDataStep **) a, *y = *(GenDataStep **) b;
  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

/* The fewest steps from @from to @to among @available (NULL when there is
 * no chain); *@stuck gets the highest schema a chain reaches below @to. */
static GPtrArray *
find_chain (GPtrArray *available, guint from, guint to, guint *stuck)
{
  g_autoptr (GPtrArray) steps = g_ptr_array_new ();
  for (guint i = 0; available && i < available->len; i++)
    {
      GenDataStep *s = available->pdata[i];
      if (s->from >= from && s->to <= to)
        g_ptr_array_add (steps, s);
    }
  g_ptr_array_sort (steps, step_compare);
  /* Breadth first over schemas; @via remembers the step that reached each. */
  g_autoptr (GHashTable) via = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GArray) queue = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_val (queue, from);
  g_hash_table_insert (via, GUINT_TO_POINTER (from), NULL);
  *stuck = from;
  for (guint q = 0; q < queue->len; q++)
    {
      guint at = g_array_index (queue, guint, q);
      if (at > *stuck)
        *stuck = at;
      for (guint i = 0; i < steps->len; i++)
        {
          GenDataStep *s = steps->pdata[i];
          if (s->from != at || g_hash_table_contains (via, GUINT_TO_POINTER (s->to)))
            continue;
          g_hash_table_insert (via, GUINT_TO_POINTER (s->to), s);
          g_array_append_val (queue, s->to);
        }
    }
  if (!g_hash_table_contains (via, GUINT_TO_POINTER (to)))
    return NULL;
  GPtrArray *chain = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_data_step_free);
  for (guint at = to; at != from;)
    {
      GenDataStep *s = g_hash_table_lookup (via, GUINT_TO_POINTER (at));
      g_ptr_array_insert (chain, 0, step_copy (s));
      at = s->from;
    }
  return chain;
}

/* --- moves ----------------------------------------------------------------- */

void
gen_data_plan_free (GenDataPlan *p)
{
  if (!p)
    return;
  g_free (p->release);
  g_clear_pointer (&p->steps, g_ptr_array_unref);
  g_free (p->forced);
  g_free (p->command);
  g_free (p->target_release_label);
  g_clear_pointer (&p->target_reads, g_array_unref);
  g_free (p);
}

static char *
release_label (GenGeneration *g)
{
  char buf[11];
  return g_strdup (gen_generation_release_label (g, buf));
}

/* "release 3.0 (generation 3)": the newest generation whose release writes
 * @schema, or NULL. */
static char *
describe_writer (GPtrArray *gens, guint schema)
{
  for (guint i = gens ? gens->len : 0; i > 0; i--)
    {
      GenGeneration *g = gens->pdata[i - 1];
      if (g->data->schema == schema)
        {
          g_autofree char *label = release_label (g);
          return g_strdup_printf ("release %s (generation %u)", label, g->number);
        }
    }
  return NULL;
}

/* "generations whose release reads schema 3: 2, 3" */
static char *
describe_readers (GPtrArray *gens, guint schema)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; gens && i < gens->len; i++)
    {
      GenGeneration *g = gens->pdata[i];
      if (gen_data_decl_reads (g->data, schema))
        g_string_append_printf (s, "%s%u", s->len ? ", " : "", g->number);
    }
  if (s->len == 0)
    return g_strdup_printf ("no generation's release reads schema %u", schema);
  return g_strdup_printf ("generations whose release reads schema %u: %s", schema, s->str);
}

GenDataPlan *
gen_data_plan (GenSysroot *s, GenGeneration *target, GPtrArray *available, const char *command,
               gboolean force, GError **error)
{
  gboolean rollback = g_str_equal (command, "rollback");
  g_autoptr (GenDataPlan) plan = g_new0 (GenDataPlan, 1);
  plan->command = g_strdup (command);
  plan->release = g_strdup (target->release_checksum);
  plan->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_data_step_free);
  plan->target = target->number;
  plan->target_release_label = release_label (target);
  plan->target_reads = g_array_copy (target->data->reads);
  guint schema = target->data->schema;
  g_autofree char *label = release_label (target);
  g_autofree char *what = rollback ? g_strdup_printf ("roll back to generation %u", target->number)
                                   : g_strdup_printf ("switch to release %s", label);

  if (s->last == 0)
    {
      /* The first generation: the data starts at its release's schema. */
      plan->first = TRUE;
      plan->from = plan->to = schema;
      return g_steal_pointer (&plan);
    }
  g_autoptr (GenDataState) st = gen_data_state_load (s, error);
  if (!st)
    return NULL;
  plan->from = plan->to = st->schema;

  if (schema > st->schema && !rollback)
    {
      /* Forward: every step must be there before anything runs. */
      guint stuck;
      g_autoptr (GPtrArray) chain = find_chain (available, st->schema, schema, &stuck);
      if (!chain)
        {
          g_autoptr (GString) ships = g_string_new (NULL);
          for (guint i = 0; available && i < available->len; i++)
            g_string_append_printf (ships, "%s%s", ships->len ? ", " : "",
                                    ((GenDataStep *) available->pdata[i])->name);
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                       "cannot %s: it migrates the data from schema %u to schema %u, but no "
                       "migration step starts at schema %u (expected %s/%u-%u; the release "
                       "ships %s); nothing was run",
                       what, st->schema, schema, stuck, GEN_DATA_MIGRATIONS_DIR, stuck, schema,
                       ships->len ? ships->str : "none");
          return NULL;
        }
      for (guint i = 0; i < chain->len; i++)
        {
          GenDataStep *step = chain->pdata[i];
          if (!step->executable)
            {
              g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                           "cannot %s: its migration step %s/%s is not executable; nothing was "
                           "run",
                           what, GEN_DATA_MIGRATIONS_DIR, step->name);
              return NULL;
            }
        }
      g_ptr_array_extend_and_steal (plan->steps, g_steal_pointer (&chain));
      plan->to = schema;
      /* The current generation keeps running on the data while the steps
       * run, and until the machine boots the new one. */
      g_autoptr (GenGeneration) current = NULL;
      if (s->current && !(current = gen_sysroot_load_generation (s, s->current, error)))
        return NULL;
      if (current && !gen_data_decl_reads (current->data, schema))
        {
          g_autofree char *cur_label = release_label (current);
          g_autofree char *cur_reads = gen_data_decl_reads_string (current->data);
          if (!force)
            {
              g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                           "cannot %s: it migrates the data from schema %u to schema %u, but the "
                           "current generation %u (release %s) reads only schemas %s, so it "
                           "could not run on the migrated data and could not be rolled back to; "
                           "switch one release at a time, or use --force",
                           what, st->schema, schema, current->number, cur_label, cur_reads);
              return NULL;
            }
          plan->forced = g_strdup_printf (
              "the data moves from schema %u to schema %u, which generation %u (release %s, "
              "reads %s) cannot read: it stays current until the new generation runs, may fail "
              "on the data or damage it, and rolling back to it will be refused",
              st->schema, schema, current->number, cur_label, cur_reads);
        }
      return g_steal_pointer (&plan);
    }

  if (!gen_data_decl_reads (target->data, st->schema))
    {
      /* Going back (or a release that does not read the data at all). */
      g_autoptr (GPtrArray) gens = gen_sysroot_list_generations (s, error);
      if (!gens)
        return NULL;
      g_autofree char *reads = gen_data_decl_reads_string (target->data);
      g_autofree char *writer = describe_writer (gens, st->schema);
      g_autofree char *readers = describe_readers (gens, st->schema);
      g_autofree char *subject
          = rollback ? g_strdup_printf ("its release %s reads", label) : g_strdup ("it reads");
      if (!force)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                       "cannot %s: %s data schemas %s, but the data is at schema %u%s%s; roll "
                       "back one release at a time (%s), or use --force to make it current "
                       "anyway, at the risk of it failing on the data or damaging it",
                       what, subject, reads, st->schema, writer ? ", written by " : "",
                       writer ? writer : "", readers);
          return NULL;
        }
      plan->forced = g_strdup_printf (
          "generation %u (release %s) reads data schemas %s, but the data is at schema %u%s%s: "
          "it may fail on the data or damage it",
          target->number, label, reads, st->schema, writer ? ", written by " : "",
          writer ? writer : "");
    }
  return g_steal_pointer (&plan);
}

/* --- running migrations ---------------------------------------------------- */

/* The last non-empty line of the log file @path, for the error message. */
static char *
last_line (GenSysroot *s, const char *path)
{
  g_autofree char *text = gen_read_file_at (s->dfd, path, NULL, NULL);
  if (!text)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = g_strv_length (lines); i > 0; i--)
    {
      char *l = g_strstrip (lines[i - 1]);
      if (*l && !g_str_has_prefix (l, "== gen:"))
        return g_utf8_make_valid (l, MIN (strlen (l), 200));
    }
  return NULL;
}

static gboolean
run_step (GenSysroot *s, GenDataPlan *plan, GenDataStep *step, const char *abs_root,
          const char *data_paths, gboolean retry, guint number, int *out_status, char **out_log,
          GError **error)
{
  g_autofree char *exe = g_strdup_printf ("%s/%s/%s/%s/%s", abs_root, GEN_DEPLOY_DIR, plan->release,
                                          GEN_DATA_MIGRATIONS_DIR, step->name);
  g_autofree char *release_dir
      = g_strdup_printf ("%s/%s/%s", abs_root, GEN_DEPLOY_DIR, plan->release);
  g_autofree char *log = g_strdup_printf (GEN_DATA_LOG_DIR "/%u-%s.log", number, step->name);
  if (!gen_mkdir_p_at (s->dfd, GEN_DATA_LOG_DIR, 0755, error))
    return FALSE;
  /* Appended, not replaced: a retry keeps the output of the attempt before. */
  int fd = openat (s->dfd, log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", log);
  g_autofree char *date = gen_iso8601_now ();
  g_autofree char *header
      = g_strdup_printf ("== gen: migration step %s of release %s, %s%s\n", step->name,
                         plan->release, date, retry ? " (again)" : "");
  if (write (fd, header, strlen (header)) < 0)
    {
      close (fd);
      return gen_throw_errno (error, "writing '%s'", log);
    }

  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_take_stdout_fd (launcher, fd);
  g_subprocess_launcher_set_cwd (launcher, abs_root);
  g_autofree char *from = g_strdup_printf ("%u", step->from);
  g_autofree char *to = g_strdup_printf ("%u", step->to);
  g_subprocess_launcher_setenv (launcher, "GEN_SYSROOT", abs_root, TRUE);
  g_subprocess_launcher_setenv (launcher, "GEN_DATA_PATHS", data_paths, TRUE);
  g_subprocess_launcher_setenv (launcher, "GEN_DATA_FROM", from, TRUE);
  g_subprocess_launcher_setenv (launcher, "GEN_DATA_TO", to, TRUE);
  g_subprocess_launcher_setenv (launcher, "GEN_RELEASE_DIR", release_dir, TRUE);
  if (retry)
    g_subprocess_launcher_setenv (launcher, "GEN_DATA_RETRY", "1", TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "GEN_DATA_RETRY");
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawn (launcher, error, exe, NULL);
  if (!proc)
    {
      g_prefix_error (error, "running migration step %s: ", step->name);
      return FALSE;
    }
  if (!g_subprocess_wait (proc, NULL, error))
    return FALSE;
  if (g_subprocess_get_if_exited (proc))
    *out_status = g_subprocess_get_exit_status (proc);
  else
    *out_status = 128 + g_subprocess_get_term_sig (proc);
  /* The log is for people: a crash may cut it short, which is what happened. */
  gen_autofd sync_fd = openat (s->dfd, log, O_RDONLY | O_CLOEXEC);
  if (sync_fd >= 0)
    fsync (sync_fd);
  *out_log = g_steal_pointer (&log);
  return TRUE;
}

gboolean
gen_data_migrate (GenSysroot *s, GenDataPlan *plan, GStrv paths, guint number, GError **error)
{
  if (plan->steps->len == 0)
    return TRUE;
  g_autoptr (GenDataState) st = gen_data_state_load (s, error);
  if (!st)
    return FALSE;
  g_autofree char *abs_root = g_canonicalize_filename (s->path, NULL);
  g_autoptr (GString) data_paths = g_string_new (NULL);
  for (char **p = paths; p && *p; p++)
    {
      g_autofree char *storage = gen_data_path_storage (*p);
      g_string_append_printf (data_paths, "%s%s/%s", data_paths->len ? ":" : "", abs_root, storage);
    }
  /* The checkout is made from the commit the plan read: check it anyway,
   * before the first step runs. */
  for (guint i = 0; i < plan->steps->len; i++)
    {
      GenDataStep *step = plan->steps->pdata[i];
      g_autofree char *rel = g_strdup_printf ("%s/%s/%s/%s", GEN_DEPLOY_DIR, plan->release,
                                              GEN_DATA_MIGRATIONS_DIR, step->name);
      if (faccessat (s->dfd, rel, X_OK, 0) < 0)
        return gen_throw_errno (error, "migration step '%s'", rel);
    }

  for (guint i = 0; i < plan->steps->len; i++)
    {
      GenDataStep *step = plan->steps->pdata[i];
      if (st->schema != step->from)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                       "the data is at schema %u, not %u as migration step %s expects", st->schema,
                       step->from, step->name);
          return FALSE;
        }
      gboolean retry = st->pending && st->pending_from == step->from && st->pending_to == step->to;
      st->pending = TRUE;
      st->pending_from = step->from;
      st->pending_to = step->to;
      g_free (st->pending_release);
      st->pending_release = g_strdup (plan->release);
      g_free (st->pending_version);
      st->pending_version = g_strdup (plan->target_release_label);
      g_free (st->pending_date);
      st->pending_date = gen_iso8601_now ();
      st->pending_status = -1;
      if (!gen_data_state_save (s, st, error))
        return FALSE;

      int status = 0;
      g_autofree char *log = NULL;
      if (!run_step (s, plan, step, abs_root, data_paths->str, retry, number, &status, &log, error))
        return FALSE;
      JsonObject *e = history_event (st, status == 0 ? "migrated" : "failed");
      json_object_set_int_member (e, "from", step->from);
      json_object_set_int_member (e, "to", step->to);
      json_object_set_string_member (e, "release", plan->release);
      json_object_set_string_member (e, "version", plan->target_release_label);
      if (status != 0)
        {
          json_object_set_int_member (e, "status", status);
          st->pending_status = status;
          if (!gen_data_state_save (s, st, error))
            return FALSE;
          g_autofree char *why = last_line (s, log);
          g_autoptr (GenGeneration) current
              = s->current ? gen_sysroot_load_generation (s, s->current, NULL) : NULL;
          g_autofree char *stays
              = !current ? g_strdup ("")
                : gen_data_decl_reads (current->data, st->schema)
                    ? g_strdup_printf (", which generation %u, still current, reads",
                                       current->number)
                    : g_strdup_printf ("; generation %u stays current", current->number);
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                       "migration step %s of release %s failed (%s %d%s%s%s); the data is at "
                       "schema %u%s; output in %s",
                       step->name, plan->target_release_label,
                       status > 128 ? "signal" : "exit status",
                       status > 128 ? status - 128 : status, why ? ": '" : "", why ? why : "",
                       why ? "'" : "", st->schema, stays, log);
          return FALSE;
        }
      /* Progress: after each step, the data's schema is the step's. */
      st->schema = step->to;
      st->pending = FALSE;
      if (!gen_data_state_save (s, st, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
gen_data_commit (GenSysroot *s, GenDataPlan *plan, GError **error)
{
  if (!plan || (!plan->first && !plan->forced))
    return TRUE;
  g_autoptr (GenDataState) st = gen_data_state_load (s, error);
  if (!st)
    return FALSE;
  if (plan->first)
    {
      st->schema = plan->to;
      st->pending = FALSE;
      JsonObject *e = history_event (st, "start");
      json_object_set_int_member (e, "schema", plan->to);
      json_object_set_string_member (e, "release", plan->release);
      json_object_set_string_member (e, "version", plan->target_release_label);
    }
  if (plan->forced)
    {
      JsonObject *e = history_event (st, "forced");
      json_object_set_string_member (e, "command", plan->command);
      json_object_set_int_member (e, "generation", plan->target);
      json_object_set_string_member (e, "release", plan->release);
      json_object_set_string_member (e, "version", plan->target_release_label);
      json_object_set_int_member (e, "schema", plan->to);
      JsonArray *reads = json_array_new ();
      for (guint i = 0; i < plan->target_reads->len; i++)
        json_array_add_int_element (reads, g_array_index (plan->target_reads, guint, i));
      json_object_set_array_member (e, "reads", reads);
      json_object_set_string_member (e, "risk", plan->forced);
    }
  return gen_data_state_save (s, st, error);
}
