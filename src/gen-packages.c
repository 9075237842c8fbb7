#include "gen-packages.h"

#include <json-glib/json-glib.h>
#include <solv/evr.h>
#include <solv/pool.h>
#include <string.h>

#include "gen-error.h"

void
gen_package_free (GenPackage *pkg)
{
  g_free (pkg->name);
  g_free (pkg->version);
  g_free (pkg->arch);
  g_free (pkg);
}

static gint
package_compare (gconstpointer a, gconstpointer b)
{
  const GenPackage *pa = *(GenPackage **) a, *pb = *(GenPackage **) b;
  int c = strcmp (pa->name, pb->name);
  return c ? c : g_strcmp0 (pa->arch, pb->arch);
}

static GenPackage *
package_new (const char *name, const char *version, const char *arch)
{
  GenPackage *p = g_new0 (GenPackage, 1);
  p->name = g_strdup (name);
  p->version = g_strdup (version);
  p->arch = g_strdup (arch);
  return p;
}

GPtrArray *
gen_packages_from_dpkg_status (const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_package_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *name = NULL, *version = NULL, *arch = NULL, *status = NULL;
  for (char **l = lines;; l++)
    {
      if (!*l || **l == '\0')
        {
          /* End of a stanza. */
          if (name && version && status && g_str_has_suffix (status, " installed")
              && g_str_has_prefix (status, "install "))
            g_ptr_array_add (out, package_new (name, version, arch));
          g_clear_pointer (&name, g_free);
          g_clear_pointer (&version, g_free);
          g_clear_pointer (&arch, g_free);
          g_clear_pointer (&status, g_free);
          if (!*l)
            break;
          continue;
        }
      char **field = NULL;
      const char *value = NULL;
      if (g_str_has_prefix (*l, "Package:"))
        field = &name, value = *l + 8;
      else if (g_str_has_prefix (*l, "Version:"))
        field = &version, value = *l + 8;
      else if (g_str_has_prefix (*l, "Architecture:"))
        field = &arch, value = *l + 13;
      else if (g_str_has_prefix (*l, "Status:"))
        field = &status, value = *l + 7;
      if (field)
        {
          g_free (*field);
          *field = g_strstrip (g_strdup (value));
        }
    }
  g_ptr_array_sort (out, package_compare);
  return out;
}

GPtrArray *
gen_packages_from_json (const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *arr_node = o ? json_object_get_member (o, "packages") : NULL;
  if (!arr_node || !JSON_NODE_HOLDS_ARRAY (arr_node))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                   "expected {\"packages\": [...]}");
      return NULL;
    }
  JsonArray *arr = json_node_get_array (arr_node);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_package_free);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *el = json_array_get_element (arr, i);
      JsonObject *p = JSON_NODE_HOLDS_OBJECT (el) ? json_node_get_object (el) : NULL;
      const char *name = p ? json_object_get_string_member_with_default (p, "name", NULL) : NULL;
      const char *version
          = p ? json_object_get_string_member_with_default (p, "version", NULL) : NULL;
      if (!name || !version)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "packages[%u] needs a name and a version", i);
          return NULL;
        }
      g_ptr_array_add (out, package_new (name, version,
                                         json_object_get_string_member_with_default (
                                             p, "architecture", NULL)));
    }
  g_ptr_array_sort (out, package_compare);
  return g_steal_pointer (&out);
}

int
gen_package_version_compare (const char *a, const char *b)
{
  static Pool *pool;
  if (g_once_init_enter (&pool))
    {
      Pool *p = pool_create ();
      pool_setdisttype (p, DISTTYPE_DEB);
      g_once_init_leave (&pool, p);
    }
  return pool_evrcmp_str (pool, a, b, EVRCMP_COMPARE);
}
