/* gen-pin.c: gen/pins.json and `gen pin`. */
#include "gen-pin.h"

#include <string.h>

#include "gen-activate.h"
#include "gen-boot.h"
#include "gen-error.h"
#include "gen-util.h"

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

guint *
gen_pins_load (GenSysroot *s, GError **error)
{
  g_autoptr (GArray) pins = g_array_new (TRUE, TRUE, sizeof (guint));
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = gen_read_file_at (s->dfd, GEN_PINS_FILE, NULL, &local_error);
  if (!text)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return (guint *) g_array_free (g_steal_pointer (&pins), FALSE);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    {
      g_prefix_error (error, "reading %s: ", GEN_PINS_FILE);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *list = root && JSON_NODE_HOLDS_OBJECT (root)
                       ? json_object_get_member (json_node_get_object (root), "pinned")
                       : NULL;
  if (!list || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                   "reading %s: not an object with a \"pinned\" array", GEN_PINS_FILE);
      return NULL;
    }
  JsonArray *arr = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *n = json_array_get_element (arr, i);
      gint64 v = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
                     ? json_node_get_int (n)
                     : 0;
      if (v < 1 || v > G_MAXINT)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                       "reading %s: pinned[%u] is not a generation number", GEN_PINS_FILE, i);
          return NULL;
        }
      guint u = v;
      if (!gen_pins_contains ((guint *) pins->data, u))
        g_array_append_val (pins, u);
    }
  g_array_sort (pins, compare_uint);
  return (guint *) g_array_free (g_steal_pointer (&pins), FALSE);
}

gboolean
gen_pins_contains (const guint *pins, guint number)
{
  for (const guint *p = pins; p && *p; p++)
    if (*p == number)
      return TRUE;
  return FALSE;
}

static char *
pins_text (GArray *pins)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "pinned");
  json_builder_begin_array (b);
  for (guint i = 0; i < pins->len; i++)
    json_builder_add_int_value (b, g_array_index (pins, guint, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *json = json_to_string (root, TRUE);
  return g_strconcat (json, "\n", NULL);
}

gboolean
gen_pin (GenSysroot *s, guint number, gboolean pinned, gboolean *out_changed, GError **error)
{
  g_return_val_if_fail (s->lock_fd >= 0, FALSE);
  if (out_changed)
    *out_changed = FALSE;
  g_autofree guint *pins = gen_pins_load (s, error);
  if (!pins)
    return FALSE;
  gboolean is_pinned = gen_pins_contains (pins, number);
  /* Unpinning what is pinned needs no record: a pin may outlive a generation
   * removed by hand. */
  if (pinned || !is_pinned)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (GenGeneration) g = gen_sysroot_load_generation (s, number, &local_error);
      if (!g)
        {
          if (g_error_matches (local_error, GEN_ERROR, GEN_ERROR_NO_GENERATION))
            g_set_error (error, GEN_ERROR, GEN_ERROR_NO_GENERATION,
                         "generation %u does not exist (see 'gen list')", number);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* A pin keeps a generation bootable: refuse one that is not. */
      if (pinned && !is_pinned && !gen_generation_check_complete (s, g, error))
        return FALSE;
    }
  if (is_pinned == pinned)
    return TRUE;

  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (guint));
  for (const guint *p = pins; *p; p++)
    if (*p != number)
      g_array_append_val (next, *p);
  if (pinned)
    g_array_append_val (next, number);
  g_array_sort (next, compare_uint);
  g_autofree char *text = pins_text (next);
  if (!gen_write_file_at (s->dfd, GEN_PINS_FILE, text, strlen (text), 0644, error))
    {
      g_prefix_error (error, "writing %s: ", GEN_PINS_FILE);
      return FALSE;
    }
  if (out_changed)
    *out_changed = TRUE;
  /* The menus follow; a crash before they do leaves them as they were, and
   * the next run's cleanup rewrites them. */
  if (!gen_boot_sync (s, error))
    {
      g_prefix_error (error, "writing the boot menu: ");
      return FALSE;
    }
  return TRUE;
}
