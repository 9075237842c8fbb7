#include "gen-manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen-boot.h"
#include "gen-error.h"
#include "gen-util.h"

G_DEFINE_QUARK (gen-error-quark, gen_error)

static void
config_file_spec_free (GenConfigFileSpec *spec)
{
  g_free (spec->path);
  g_free (spec->value);
  g_free (spec);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenConfigFileSpec, config_file_spec_free)

static void
package_repo_free (GenPackageRepo *r)
{
  g_free (r->url);
  g_free (r->suite);
  g_strfreev (r->components);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenPackageRepo, package_repo_free)

static void
package_request_free (GenPackageRequest *r)
{
  g_free (r->text);
  g_free (r->name);
  g_free (r->op);
  g_free (r->version);
  g_free (r);
}

static void
packages_spec_free (GenPackagesSpec *p)
{
  if (!p)
    return;
  g_clear_pointer (&p->repos, g_ptr_array_unref);
  g_clear_pointer (&p->install, g_ptr_array_unref);
  g_strfreev (p->exclude);
  g_free (p->architecture);
  g_strfreev (p->setuid);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenPackagesSpec, packages_spec_free)

static void
remote_spec_free (GenRemoteSpec *r)
{
  g_free (r->name);
  g_free (r->url);
  g_free (r->gpg_keys);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenRemoteSpec, remote_spec_free)

void
gen_manifest_free (GenManifest *m)
{
  if (!m)
    return;
  g_free (m->path);
  g_free (m->dir);
  g_clear_pointer (&m->bytes, g_bytes_unref);
  g_free (m->os);
  g_free (m->release_source);
  g_free (m->release_remote);
  g_clear_pointer (&m->packages, packages_spec_free);
  g_free (m->release_version);
  g_strfreev (m->kernel_args);
  g_clear_pointer (&m->vars, g_hash_table_unref);
  g_clear_pointer (&m->files, g_ptr_array_unref);
  gen_data_decl_free (m->release_data);
  g_strfreev (m->data_paths);
  g_free (m->boot_loader);
  g_clear_pointer (&m->remotes, g_ptr_array_unref);
  g_free (m);
}

const GenRemoteSpec *
gen_manifest_find_remote (GenManifest *m, const char *name)
{
  for (guint i = 0; i < m->remotes->len; i++)
    {
      const GenRemoteSpec *r = m->remotes->pdata[i];
      if (g_str_equal (r->name, name))
        return r;
    }
  return NULL;
}

gboolean
gen_os_name_is_valid (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > 64 || !(g_ascii_islower (name[0]) || g_ascii_isdigit (name[0])))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '.' || *p == '_' || *p == '-'))
      return FALSE;
  return TRUE;
}

/* Parsing context: the manifest's display name prefixes every error. */
typedef struct {
  const char *name;
  const char *dir;
  GError **error;
  gboolean stored; /* a generation's copy: the files it names may be gone */
} Ctx;

static gboolean G_GNUC_PRINTF (3, 4)
fail (Ctx *ctx, const char *key, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *raw = g_strdup_vprintf (fmt, args);
  va_end (args);
  /* Keys and values quoted from the manifest (JSON-GLib's messages quote
   * them too) may hold newlines or bytes that are not UTF-8. */
  g_autofree char *valid = g_utf8_make_valid (raw, -1);
  g_autofree char *msg = gen_escape_controls (valid);
  g_autofree char *valid_key = key ? g_utf8_make_valid (key, -1) : NULL;
  g_autofree char *key_text = key ? gen_escape_controls (valid_key) : NULL;
  key = key_text;
  if (key)
    g_set_error (ctx->error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "%s: %s: %s", ctx->name, key,
                 msg);
  else
    g_set_error (ctx->error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "%s: %s", ctx->name, msg);
  return FALSE;
}

static const char *
node_type_name (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    default:
      break;
    }
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  return "a number";
}

/* Refuses any member of @obj not named in @allowed. */
static gboolean
check_keys (Ctx *ctx, JsonObject *obj, const char *prefix, const char *const *allowed)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      if (g_strv_contains (allowed, name))
        continue;
      g_autofree char *key = prefix ? g_strdup_printf ("%s.%s", prefix, name) : g_strdup (name);
      g_autofree char *list = g_strjoinv ("', '", (char **) allowed);
      return fail (ctx, key, "unknown key (expected '%s')", list);
    }
  return TRUE;
}

static JsonObject *
get_object (Ctx *ctx, JsonObject *parent, const char *member, const char *key, gboolean required)
{
  JsonNode *node = json_object_get_member (parent, member);
  if (!node)
    {
      if (required)
        fail (ctx, key, "missing");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      fail (ctx, key, "expected an object, got %s", node_type_name (node));
      return NULL;
    }
  return json_node_get_object (node);
}

/* Returns the string member, NULL when absent (and no error) or of another type (error). */
static const char *
get_string (Ctx *ctx, JsonObject *parent, const char *member, const char *key, gboolean *ok)
{
  JsonNode *node = json_object_get_member (parent, member);
  *ok = TRUE;
  if (!node)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *ok = fail (ctx, key, "expected a string, got %s", node_type_name (node));
      return NULL;
    }
  const char *s = json_node_get_string (node);
  if (*s == '\0')
    {
      *ok = fail (ctx, key, "must not be empty");
      return NULL;
    }
  return s;
}

/* Resolves a path relative to the manifest's folder. */
static char *
resolve_path (Ctx *ctx, const char *path)
{
  if (g_path_is_absolute (path))
    return g_canonicalize_filename (path, NULL);
  return g_canonicalize_filename (path, ctx->dir);
}

/* Resolves @path and requires it to be a regular file inside the manifest's
 * folder once every symlink is followed. */
static char *
resolve_inside (Ctx *ctx, const char *key, const char *path)
{
  if (g_path_is_absolute (path))
    {
      fail (ctx, key, "'%s' must be relative to the manifest's folder", path);
      return NULL;
    }
  g_autofree char *joined = g_build_filename (ctx->dir, path, NULL);
  g_autofree char *real = realpath (joined, NULL);
  if (!real)
    {
      fail (ctx, key, "'%s': %s", path, g_strerror (errno));
      return NULL;
    }
  g_autofree char *dir_real = realpath (ctx->dir, NULL);
  if (!dir_real || !g_str_has_prefix (real, dir_real) || real[strlen (dir_real)] != '/')
    {
      fail (ctx, key, "'%s' is outside the manifest's folder", path);
      return NULL;
    }
  if (!g_file_test (real, G_FILE_TEST_IS_REGULAR))
    {
      fail (ctx, key, "'%s' is not a regular file", path);
      return NULL;
    }
  return g_steal_pointer (&real);
}

/* --- release.packages ------------------------------------------------------ */

/* Debian package names (Policy 5.6.1): lower-case letters, digits, '+', '-'
 * and '.', at least two, starting with a letter or a digit. */
static gboolean
package_name_is_valid (const char *name)
{
  gsize len = strlen (name);
  if (len < 2 || len > 128 || !(g_ascii_islower (name[0]) || g_ascii_isdigit (name[0])))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '+' || *p == '-' || *p == '.'))
      return FALSE;
  return TRUE;
}

/* Debian versions (Policy 5.6.12): [epoch:]upstream[-revision]. */
static gboolean
package_version_is_valid (const char *v)
{
  if (!g_ascii_isdigit (v[0]) || strlen (v) > 128)
    return FALSE;
  for (const char *p = v; *p; p++)
    if (!(g_ascii_isalnum (*p) || strchr (".+~:-", *p)))
      return FALSE;
  return TRUE;
}

/* "name" or "name (OP version)", OP one of << <= = >= >>. */
static GenPackageRequest *
parse_request (const char *text)
{
  g_autoptr (GString) name = g_string_new (NULL);
  const char *p = text;
  while (*p && *p != ' ' && *p != '(')
    g_string_append_c (name, *p++);
  while (*p == ' ')
    p++;
  if (!package_name_is_valid (name->str))
    return NULL;
  GenPackageRequest *r = g_new0 (GenPackageRequest, 1);
  r->text = g_strdup (text);
  r->name = g_strdup (name->str);
  if (*p == '\0')
    return r;
  static const char *const ops[] = { "<<", "<=", ">=", ">>", "=" };
  const char *op = NULL;
  if (*p++ == '(')
    {
      while (*p == ' ')
        p++;
      for (guint i = 0; i < G_N_ELEMENTS (ops) && !op; i++)
        if (g_str_has_prefix (p, ops[i]))
          op = ops[i];
    }
  const char *close = strchr (p, ')');
  if (op && close && close[1] == '\0')
    {
      g_autofree char *version = g_strstrip (g_strndup (p + strlen (op), close - p - strlen (op)));
      if (package_version_is_valid (version))
        {
          r->op = g_strdup (op);
          r->version = g_steal_pointer (&version);
          return r;
        }
    }
  package_request_free (r);
  return NULL;
}

/* Names in a repository location: letters, digits, '.', '_', '-' and '/',
 * no '..', no leading '/'. */
static gboolean
repo_word_is_valid (const char *s)
{
  if (!*s || *s == '/' || strstr (s, "..") || strlen (s) > 128)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!(g_ascii_isalnum (*p) || strchr ("._-/", *p)))
      return FALSE;
  return TRUE;
}

/* An array of non-empty strings, or NULL with an error. */
static GPtrArray *
get_string_array (Ctx *ctx, JsonNode *node, const char *key, gboolean non_empty)
{
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      fail (ctx, key, "expected an array of strings, got %s", node_type_name (node));
      return NULL;
    }
  JsonArray *arr = json_node_get_array (node);
  if (non_empty && json_array_get_length (arr) == 0)
    {
      fail (ctx, key, "must not be empty");
      return NULL;
    }
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *el = json_array_get_element (arr, i);
      g_autofree char *elkey = g_strdup_printf ("%s[%u]", key, i);
      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        {
          fail (ctx, elkey, "expected a string, got %s", node_type_name (el));
          return NULL;
        }
      const char *s = json_node_get_string (el);
      if (*s == '\0' || strchr (s, '\n'))
        {
          fail (ctx, elkey, "must be one non-empty line");
          return NULL;
        }
      g_ptr_array_add (out, g_strdup (s));
    }
  return g_steal_pointer (&out);
}

static GStrv
steal_strv (GPtrArray *arr)
{
  g_ptr_array_add (arr, NULL);
  return (GStrv) g_ptr_array_free (arr, FALSE);
}

static GenPackageRepo *
parse_repo (Ctx *ctx, JsonNode *node, const char *key)
{
  JsonObject *obj = NULL;
  const char *location;
  g_autofree char *url_key = NULL;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      obj = json_node_get_object (node);
      static const char *const keys[] = { "url", "suite", "components", NULL };
      if (!check_keys (ctx, obj, key, keys))
        return NULL;
      url_key = g_strdup_printf ("%s.url", key);
      gboolean ok;
      location = get_string (ctx, obj, "url", url_key, &ok);
      if (!ok)
        return NULL;
      if (!location)
        {
          fail (ctx, url_key, "missing");
          return NULL;
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
           && *json_node_get_string (node))
    {
      location = json_node_get_string (node);
      url_key = g_strdup (key);
    }
  else
    {
      fail (ctx, key, "expected a folder, a URL or an object with 'url', got %s",
            node_type_name (node));
      return NULL;
    }

  g_autoptr (GenPackageRepo) repo = g_new0 (GenPackageRepo, 1);
  if (g_str_has_prefix (location, "http://") || g_str_has_prefix (location, "https://"))
    {
      if (strpbrk (location, " \t\n\r") || strlen (location) > 2048)
        {
          fail (ctx, url_key, "'%s' is not a valid URL", location);
          return NULL;
        }
      repo->url = g_strdup (location);
      gsize len = strlen (repo->url);
      while (len > 0 && repo->url[len - 1] == '/')
        repo->url[--len] = '\0';
    }
  else if (strstr (location, "://"))
    {
      fail (ctx, url_key, "'%s': a repository is a folder or an http:// or https:// URL", location);
      return NULL;
    }
  else
    {
      repo->url = resolve_path (ctx, location);
      if (!g_file_test (repo->url, G_FILE_TEST_IS_DIR))
        {
          fail (ctx, url_key, "'%s' %s", location,
                g_file_test (repo->url, G_FILE_TEST_EXISTS) ? "is not a folder" : "does not exist");
          return NULL;
        }
    }

  JsonNode *components = obj ? json_object_get_member (obj, "components") : NULL;
  g_autofree char *suite_key = g_strdup_printf ("%s.suite", key);
  g_autofree char *comp_key = g_strdup_printf ("%s.components", key);
  gboolean ok = TRUE;
  const char *suite = obj ? get_string (ctx, obj, "suite", suite_key, &ok) : NULL;
  if (!ok)
    return NULL;
  if (suite && !repo_word_is_valid (suite))
    {
      fail (ctx, suite_key, "'%s' is not a suite name", suite);
      return NULL;
    }
  if (components && !suite)
    {
      fail (ctx, comp_key, "components need a suite");
      return NULL;
    }
  g_autoptr (GPtrArray) comps = NULL;
  if (components)
    {
      comps = get_string_array (ctx, components, comp_key, TRUE);
      if (!comps)
        return NULL;
      for (guint i = 0; i < comps->len; i++)
        if (!repo_word_is_valid (comps->pdata[i]))
          {
            g_autofree char *k = g_strdup_printf ("%s[%u]", comp_key, i);
            fail (ctx, k, "'%s' is not a component name", (char *) comps->pdata[i]);
            return NULL;
          }
    }
  else
    {
      comps = g_ptr_array_new_with_free_func (g_free);
      if (suite)
        g_ptr_array_add (comps, g_strdup ("main"));
    }
  repo->suite = g_strdup (suite);
  repo->components = steal_strv (g_steal_pointer (&comps));
  return g_steal_pointer (&repo);
}

/* A path in the composed tree: absolute, no empty, '.' or '..' part. */
static gboolean
tree_path_is_valid (const char *path)
{
  if (path[0] != '/' || path[1] == '\0' || strlen (path) > 4096)
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  for (char **p = parts; *p; p++)
    if (**p == '\0' || g_str_equal (*p, ".") || g_str_equal (*p, ".."))
      return FALSE;
  return TRUE;
}

static gint
strcmp_p (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

static gboolean
parse_packages (Ctx *ctx, JsonObject *rel, GenManifest *m)
{
  JsonObject *obj = get_object (ctx, rel, "packages", "release.packages", TRUE);
  if (!obj)
    return FALSE;
  static const char *const keys[] = { "repos", "install", "exclude", "architecture", "setuid",
                                      "version", NULL };
  if (!check_keys (ctx, obj, "release.packages", keys))
    return FALSE;
  g_autoptr (GenPackagesSpec) spec = g_new0 (GenPackagesSpec, 1);
  spec->repos = g_ptr_array_new_with_free_func ((GDestroyNotify) package_repo_free);
  spec->install = g_ptr_array_new_with_free_func ((GDestroyNotify) package_request_free);

  JsonNode *node = json_object_get_member (obj, "repos");
  if (!node)
    return fail (ctx, "release.packages.repos", "missing");
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) == 0)
    return fail (ctx, "release.packages.repos", "expected a non-empty array of repositories");
  JsonArray *repos = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (repos); i++)
    {
      g_autofree char *key = g_strdup_printf ("release.packages.repos[%u]", i);
      GenPackageRepo *repo = parse_repo (ctx, json_array_get_element (repos, i), key);
      if (!repo)
        return FALSE;
      g_ptr_array_add (spec->repos, repo);
    }

  node = json_object_get_member (obj, "install");
  if (!node)
    return fail (ctx, "release.packages.install", "missing");
  g_autoptr (GPtrArray) install = get_string_array (ctx, node, "release.packages.install", TRUE);
  if (!install)
    return FALSE;
  for (guint i = 0; i < install->len; i++)
    {
      g_autofree char *key = g_strdup_printf ("release.packages.install[%u]", i);
      GenPackageRequest *r = parse_request (install->pdata[i]);
      if (!r)
        return fail (ctx, key, "'%s' is not a package name with an optional version, like "
                     "\"myapp\" or \"myapp (>= 2.1)\"", (char *) install->pdata[i]);
      g_ptr_array_add (spec->install, r);
    }

  g_autoptr (GPtrArray) exclude = NULL;
  node = json_object_get_member (obj, "exclude");
  if (node && !(exclude = get_string_array (ctx, node, "release.packages.exclude", FALSE)))
    return FALSE;
  if (!exclude)
    exclude = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < exclude->len; i++)
    {
      const char *name = exclude->pdata[i];
      g_autofree char *key = g_strdup_printf ("release.packages.exclude[%u]", i);
      if (!package_name_is_valid (name))
        return fail (ctx, key, "'%s' is not a package name", name);
      for (guint j = 0; j < spec->install->len; j++)
        if (g_str_equal (((GenPackageRequest *) spec->install->pdata[j])->name, name))
          return fail (ctx, key, "'%s' is also in release.packages.install", name);
    }
  spec->exclude = steal_strv (g_steal_pointer (&exclude));

  gboolean ok;
  const char *arch = get_string (ctx, obj, "architecture", "release.packages.architecture", &ok);
  if (!ok)
    return FALSE;
  if (arch && (!package_name_is_valid (arch) || strpbrk (arch, "+.") || g_str_equal (arch, "all")))
    return fail (ctx, "release.packages.architecture", "'%s' is not a Debian architecture", arch);
  spec->architecture = g_strdup (arch);

  g_autoptr (GPtrArray) setuid = NULL;
  node = json_object_get_member (obj, "setuid");
  if (node && !(setuid = get_string_array (ctx, node, "release.packages.setuid", FALSE)))
    return FALSE;
  if (!setuid)
    setuid = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < setuid->len; i++)
    if (!tree_path_is_valid (setuid->pdata[i]))
      {
        g_autofree char *key = g_strdup_printf ("release.packages.setuid[%u]", i);
        return fail (ctx, key, "'%s' must be an absolute path without '.', '..' or empty parts",
                     (char *) setuid->pdata[i]);
      }
  g_ptr_array_sort (setuid, strcmp_p);
  spec->setuid = steal_strv (g_steal_pointer (&setuid));

  const char *version = get_string (ctx, obj, "version", "release.packages.version", &ok);
  if (!ok)
    return FALSE;
  if (version && json_object_has_member (rel, "version"))
    return fail (ctx, "release.packages.version", "give the version once, here or in release.version");
  if (version && (strchr (version, '\n') || strlen (version) > 128))
    return fail (ctx, "release.packages.version", "must be one line of at most 128 characters");
  if (version)
    m->release_version = g_strdup (version);
  m->packages = g_steal_pointer (&spec);
  return TRUE;
}

/* --- remotes --------------------------------------------------------------- */

/* A name ostree takes for a remote, and that fits in a ref "NAME:REF". */
static gboolean
remote_name_is_valid (const char *name)
{
  gsize len = strlen (name);
  if (len == 0 || len > 64 || !g_ascii_isalnum (name[0]))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_' || *p == '-' || *p == '.'))
      return FALSE;
  return TRUE;
}

static GenRemoteSpec *
parse_remote (Ctx *ctx, const char *name, JsonNode *node)
{
  g_autofree char *key = g_strdup_printf ("remotes.%s", name);
  if (!remote_name_is_valid (name))
    {
      fail (ctx, key, "a remote name is letters, digits, '_', '-' or '.' (at most 64)");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      fail (ctx, key, "expected an object, got %s", node_type_name (node));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);
  static const char *const keys[] = { "url", "gpg-verify", "gpg-keys", NULL };
  if (!check_keys (ctx, obj, key, keys))
    return NULL;

  g_autoptr (GenRemoteSpec) r = g_new0 (GenRemoteSpec, 1);
  r->name = g_strdup (name);
  g_autofree char *url_key = g_strdup_printf ("%s.url", key);
  gboolean ok;
  const char *url = get_string (ctx, obj, "url", url_key, &ok);
  if (!ok)
    return NULL;
  if (!url)
    {
      fail (ctx, url_key, "missing");
      return NULL;
    }
  if (g_str_has_prefix (url, "http://") || g_str_has_prefix (url, "https://"))
    {
      if (strpbrk (url, " \t\n\r") || strlen (url) > 2048)
        {
          fail (ctx, url_key, "'%s' is not a valid URL", url);
          return NULL;
        }
      r->url = g_strdup (url);
    }
  else if (strstr (url, "://"))
    {
      fail (ctx, url_key, "'%s': a remote is an http:// or https:// URL or a folder", url);
      return NULL;
    }
  else
    {
      g_autofree char *dir = resolve_path (ctx, url);
      if (!ctx->stored && !g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          fail (ctx, url_key, "'%s' %s", url,
                g_file_test (dir, G_FILE_TEST_EXISTS) ? "is not a folder" : "does not exist");
          return NULL;
        }
      r->url = g_strconcat ("file://", dir, NULL);
    }

  g_autofree char *verify_key = g_strdup_printf ("%s.gpg-verify", key);
  JsonNode *verify = json_object_get_member (obj, "gpg-verify");
  r->gpg_verify = TRUE;
  if (verify)
    {
      if (!JSON_NODE_HOLDS_VALUE (verify) || json_node_get_value_type (verify) != G_TYPE_BOOLEAN)
        {
          fail (ctx, verify_key, "expected true or false, got %s", node_type_name (verify));
          return NULL;
        }
      r->gpg_verify = json_node_get_boolean (verify);
    }
  g_autofree char *keys_key = g_strdup_printf ("%s.gpg-keys", key);
  const char *keyring = get_string (ctx, obj, "gpg-keys", keys_key, &ok);
  if (!ok)
    return NULL;
  if (r->gpg_verify && !keyring)
    {
      fail (ctx, keys_key, "missing: give the keyring that signs this remote's commits, or "
                           "\"gpg-verify\": false to pull unsigned commits");
      return NULL;
    }
  if (!r->gpg_verify && keyring)
    {
      fail (ctx, keys_key, "given with \"gpg-verify\": false: nothing would check it");
      return NULL;
    }
  if (keyring)
    {
      r->gpg_keys = ctx->stored ? resolve_path (ctx, keyring) : resolve_inside (ctx, keys_key, keyring);
      if (!r->gpg_keys)
        return NULL;
    }
  return g_steal_pointer (&r);
}

static gint
compare_remotes (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(GenRemoteSpec *const *) a)->name, (*(GenRemoteSpec *const *) b)->name);
}

static gboolean
parse_remotes (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  m->remotes = g_ptr_array_new_with_free_func ((GDestroyNotify) remote_spec_free);
  if (!json_object_has_member (root, "remotes"))
    return TRUE;
  JsonObject *remotes = get_object (ctx, root, "remotes", "remotes", FALSE);
  if (!remotes)
    return FALSE;
  g_autoptr (GList) names = json_object_get_members (remotes);
  for (GList *l = names; l; l = l->next)
    {
      GenRemoteSpec *r = parse_remote (ctx, l->data, json_object_get_member (remotes, l->data));
      if (!r)
        return FALSE;
      g_ptr_array_add (m->remotes, r);
    }
  g_ptr_array_sort (m->remotes, compare_remotes);
  return TRUE;
}

static gboolean
parse_release (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  JsonObject *rel = get_object (ctx, root, "release", "release", TRUE);
  if (!rel)
    return FALSE;
  static const char *const keys[] = { "dir", "archive", "ref", "packages", "version", "data", NULL };
  if (!check_keys (ctx, rel, "release", keys))
    return FALSE;
  if (json_object_has_member (rel, "packages"))
    {
      m->release_kind = GEN_RELEASE_PACKAGES;
      for (guint i = 0; i < 3; i++)
        if (json_object_has_member (rel, keys[i]))
          return fail (ctx, "release", "give exactly one of 'dir', 'archive', 'ref', 'packages' "
                       "(got '%s' and 'packages')", keys[i]);
      if (!parse_packages (ctx, rel, m))
        return FALSE;
    }
  JsonNode *data = json_object_get_member (rel, "data");
  if (data)
    {
      g_autoptr (GError) local_error = NULL;
      m->release_data = gen_data_decl_parse (data, "release.data", GEN_DATA_BY_MANIFEST,
                                             &local_error);
      if (!m->release_data)
        return fail (ctx, NULL, "%s", local_error->message);
    }

  static const struct {
    const char *name;
    GenReleaseKind kind;
  } sources[] = { { "dir", GEN_RELEASE_DIR },
                  { "archive", GEN_RELEASE_ARCHIVE },
                  { "ref", GEN_RELEASE_REF } };
  const char *found = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      g_autofree char *key = g_strconcat ("release.", sources[i].name, NULL);
      gboolean ok;
      const char *value = get_string (ctx, rel, sources[i].name, key, &ok);
      if (!ok)
        return FALSE;
      if (!value)
        continue;
      if (found)
        return fail (ctx, "release", "give exactly one of 'dir', 'archive', 'ref', 'packages' (got '%s' and '%s')",
                     found, sources[i].name);
      found = sources[i].name;
      m->release_kind = sources[i].kind;
      if (sources[i].kind == GEN_RELEASE_REF)
        {
          if (strpbrk (value, " \t\n") || strstr (value, ".."))
            return fail (ctx, key, "'%s' is not a valid ref", value);
          const char *colon = strchr (value, ':');
          if (colon)
            {
              g_autofree char *remote = g_strndup (value, colon - value);
              if (!remote_name_is_valid (remote) || colon[1] == '\0' || strchr (colon + 1, ':'))
                return fail (ctx, key, "'%s' is not REF or REMOTE:REF", value);
              m->release_remote = g_steal_pointer (&remote);
            }
          m->release_source = g_strdup (value);
        }
      else
        {
          m->release_source = resolve_path (ctx, value);
          gboolean want_dir = sources[i].kind == GEN_RELEASE_DIR;
          if (ctx->stored)
            continue;
          if (!g_file_test (m->release_source, G_FILE_TEST_EXISTS))
            return fail (ctx, key, "'%s' does not exist", value);
          if (want_dir != g_file_test (m->release_source, G_FILE_TEST_IS_DIR))
            return fail (ctx, key, "'%s' is not a %s", value, want_dir ? "folder" : "file");
        }
    }
  if (!found && !m->packages)
    return fail (ctx, "release", "give exactly one of 'dir', 'archive', 'ref', 'packages'");

  gboolean ok;
  const char *version = get_string (ctx, rel, "version", "release.version", &ok);
  if (!ok)
    return FALSE;
  if (version && (gen_has_control (version) || strlen (version) > 128))
    return fail (ctx, "release.version",
                 "must be one line of at most 128 characters, without control characters");
  if (version)
    m->release_version = g_strdup (version);
  return TRUE;
}

/* An optional top-level section: absent is fine (*@out NULL); present, it
 * must be an object holding only @keys. */
static gboolean
get_section (Ctx *ctx, JsonObject *root, const char *name, const char *const *keys,
             JsonObject **out)
{
  *out = NULL;
  if (!json_object_has_member (root, name))
    return TRUE;
  *out = get_object (ctx, root, name, name, FALSE);
  return *out && check_keys (ctx, *out, name, keys);
}

static gboolean
parse_kernel (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  static const char *const keys[] = { "args", NULL };
  JsonObject *kernel;
  if (!get_section (ctx, root, "kernel", keys, &kernel))
    return FALSE;
  JsonNode *node = kernel ? json_object_get_member (kernel, "args") : NULL;
  if (node)
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return fail (ctx, "kernel.args", "expected an array of strings, got %s",
                     node_type_name (node));
      JsonArray *arr = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          JsonNode *el = json_array_get_element (arr, i);
          g_autofree char *key = g_strdup_printf ("kernel.args[%u]", i);
          if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
            return fail (ctx, key, "expected a string, got %s", node_type_name (el));
          const char *arg = json_node_get_string (el);
          if (*arg == '\0' || strchr (arg, ' ') || gen_has_control (arg))
            return fail (ctx, key, "'%s' must be one non-empty word", arg);
          if (g_str_has_prefix (arg, "gen."))
            return fail (ctx, key, "'%s': gen.* arguments are written by gen itself", arg);
          g_ptr_array_add (args, g_strdup (arg));
        }
    }
  g_ptr_array_add (args, NULL);
  m->kernel_args = (GStrv) g_ptr_array_free (g_steal_pointer (&args), FALSE);
  return TRUE;
}

static gboolean
var_name_is_valid (const char *name)
{
  if (!*name)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_' || *p == '-' || *p == '.'))
      return FALSE;
  return TRUE;
}

static gboolean
parse_vars (Ctx *ctx, JsonObject *config, GenManifest *m)
{
  JsonObject *vars = json_object_has_member (config, "vars")
                         ? get_object (ctx, config, "vars", "config.vars", FALSE)
                         : NULL;
  if (json_object_has_member (config, "vars") && !vars)
    return FALSE;
  if (!vars)
    return TRUE;
  g_autoptr (GList) members = json_object_get_members (vars);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      g_autofree char *key = g_strdup_printf ("config.vars.%s", name);
      if (!var_name_is_valid (name))
        return fail (ctx, key, "variable names use letters, digits, '_', '-' and '.'");
      JsonNode *node = json_object_get_member (vars, name);
      if (!JSON_NODE_HOLDS_VALUE (node))
        return fail (ctx, key, "expected a string, number or boolean, got %s",
                     node_type_name (node));
      GType t = json_node_get_value_type (node);
      char *value;
      if (t == G_TYPE_STRING)
        value = g_strdup (json_node_get_string (node));
      else if (t == G_TYPE_BOOLEAN)
        value = g_strdup (json_node_get_boolean (node) ? "true" : "false");
      else if (t == G_TYPE_INT64)
        value = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      else
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          value = g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
        }
      g_hash_table_insert (m->vars, g_strdup (name), value);
    }
  return TRUE;
}

/* A target must be an absolute path below /etc with no '.', '..' or empty
 * component; returns it normalised or NULL. */
static gboolean
target_path_is_valid (const char *path)
{
  /* g_strsplit ("") gives no parts at all: "/etc/" itself needs its own check. */
  if (!g_str_has_prefix (path, "/etc/") || path[strlen ("/etc/")] == '\0' || strlen (path) > 4096)
    return FALSE;
  for (const char *p = path; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  g_auto (GStrv) parts = g_strsplit (path + strlen ("/etc/"), "/", -1);
  for (char **p = parts; *p; p++)
    if (**p == '\0' || g_str_equal (*p, ".") || g_str_equal (*p, ".."))
      return FALSE;
  return TRUE;
}

static gboolean
parse_mode (Ctx *ctx, const char *key, JsonNode *node, guint *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail (ctx, key, "expected an octal string like \"0640\", got %s", node_type_name (node));
  const char *s = json_node_get_string (node);
  guint64 mode;
  if (strlen (s) < 3 || strlen (s) > 4
      || !g_ascii_string_to_unsigned (s, 8, 0, 07777, &mode, NULL))
    return fail (ctx, key, "'%s' is not an octal mode like \"0640\"", s);
  /* A config file runs nothing: a setuid or setgid bit in /etc can only be a
   * mistake or an attack. */
  if (mode & (S_ISUID | S_ISGID))
    return fail (ctx, key, "'%s': setuid and setgid bits are not allowed in config files", s);
  *out = mode;
  return TRUE;
}

static gint
spec_compare (gconstpointer a, gconstpointer b)
{
  const GenConfigFileSpec *sa = *(GenConfigFileSpec **) a;
  const GenConfigFileSpec *sb = *(GenConfigFileSpec **) b;
  return strcmp (sa->path, sb->path);
}

static gboolean
parse_files (Ctx *ctx, JsonObject *config, GenManifest *m)
{
  if (!json_object_has_member (config, "files"))
    return TRUE;
  JsonObject *files = get_object (ctx, config, "files", "config.files", FALSE);
  if (!files)
    return FALSE;
  g_autoptr (GList) members = json_object_get_members (files);
  for (GList *l = members; l; l = l->next)
    {
      const char *path = l->data;
      g_autofree char *key = g_strdup_printf ("config.files[\"%s\"]", path);
      if (!target_path_is_valid (path))
        return fail (ctx, key, "target must be a path below /etc/ without '.', '..', empty parts or control characters");
      JsonObject *entry = get_object (ctx, files, path, key, FALSE);
      if (!entry)
        return FALSE;
      static const char *const keys[] = { "content", "template", "source", "symlink", "mode", NULL };
      if (!check_keys (ctx, entry, key, keys))
        return FALSE;

      g_autoptr (GenConfigFileSpec) spec = g_new0 (GenConfigFileSpec, 1);
      spec->path = g_strdup (path);
      spec->mode = 0644;
      static const struct {
        const char *name;
        GenConfigKind kind;
      } kinds[] = { { "content", GEN_CONFIG_CONTENT },
                    { "template", GEN_CONFIG_TEMPLATE },
                    { "source", GEN_CONFIG_SOURCE },
                    { "symlink", GEN_CONFIG_SYMLINK } };
      const char *found = NULL;
      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        {
          JsonNode *node = json_object_get_member (entry, kinds[i].name);
          if (!node)
            continue;
          g_autofree char *subkey = g_strdup_printf ("%s.%s", key, kinds[i].name);
          if (found)
            return fail (ctx, key, "give exactly one of 'content', 'template', 'source', 'symlink' (got '%s' and '%s')",
                         found, kinds[i].name);
          found = kinds[i].name;
          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
            return fail (ctx, subkey, "expected a string, got %s", node_type_name (node));
          const char *value = json_node_get_string (node);
          spec->kind = kinds[i].kind;
          switch (spec->kind)
            {
            case GEN_CONFIG_CONTENT:
              spec->value = g_strdup (value);
              break;
            case GEN_CONFIG_TEMPLATE:
            case GEN_CONFIG_SOURCE:
              if (ctx->stored && !g_path_is_absolute (value))
                spec->value = g_canonicalize_filename (value, ctx->dir);
              else
                spec->value = resolve_inside (ctx, subkey, value);
              if (!spec->value)
                return FALSE;
              break;
            case GEN_CONFIG_SYMLINK:
              if (*value == '\0' || strlen (value) > 4095 || gen_has_control (value))
                return fail (ctx, subkey, "must be a non-empty one-line link target without control characters");
              spec->value = g_strdup (value);
              spec->mode = 0;
              break;
            }
        }
      if (!found)
        return fail (ctx, key, "give one of 'content', 'template', 'source', 'symlink'");
      JsonNode *mode = json_object_get_member (entry, "mode");
      if (mode)
        {
          g_autofree char *subkey = g_strdup_printf ("%s.mode", key);
          if (spec->kind == GEN_CONFIG_SYMLINK)
            return fail (ctx, subkey, "a symlink has no mode");
          if (!parse_mode (ctx, subkey, mode, &spec->mode))
            return FALSE;
        }
      g_ptr_array_add (m->files, g_steal_pointer (&spec));
    }
  g_ptr_array_sort (m->files, spec_compare);

  /* A target cannot be both a file and the folder of another target. */
  for (guint i = 0; i + 1 < m->files->len; i++)
    {
      GenConfigFileSpec *a = m->files->pdata[i];
      GenConfigFileSpec *b = m->files->pdata[i + 1];
      gsize alen = strlen (a->path);
      if (strncmp (a->path, b->path, alen) == 0 && b->path[alen] == '/')
        {
          g_autofree char *key = g_strdup_printf ("config.files[\"%s\"]", b->path);
          return fail (ctx, key, "'%s' is a file, so it cannot be a folder", a->path);
        }
    }
  return TRUE;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* data.paths: folders kept outside releases (gen-data.h), sorted; none
 * inside another. */
static gboolean
parse_data (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  static const char *const keys[] = { "paths", NULL };
  JsonObject *data;
  if (!get_section (ctx, root, "data", keys, &data))
    return FALSE;
  JsonNode *node = data ? json_object_get_member (data, "paths") : NULL;
  if (node && !JSON_NODE_HOLDS_ARRAY (node))
    return fail (ctx, "data.paths", "expected an array of strings, got %s", node_type_name (node));
  JsonArray *arr = node ? json_node_get_array (node) : NULL;
  for (guint i = 0; arr && i < json_array_get_length (arr); i++)
    {
      JsonNode *el = json_array_get_element (arr, i);
      g_autofree char *key = g_strdup_printf ("data.paths[%u]", i);
      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        return fail (ctx, key, "expected a string, got %s", node_type_name (el));
      const char *path = json_node_get_string (el);
      g_autoptr (GError) local_error = NULL;
      if (!gen_data_path_check (path, &local_error))
        return fail (ctx, key, "%s", local_error->message);
      for (guint j = 0; j < paths->len; j++)
        {
          const char *other = paths->pdata[j];
          gsize a = strlen (other), b = strlen (path);
          if (g_str_equal (other, path))
            return fail (ctx, key, "'%s' is listed twice", path);
          if ((a < b && strncmp (other, path, a) == 0 && path[a] == '/')
              || (b < a && strncmp (path, other, b) == 0 && other[b] == '/'))
            return fail (ctx, key, "'%s' and '%s': one data path cannot hold another", other,
                         path);
        }
      g_ptr_array_add (paths, g_strdup (path));
    }
  g_ptr_array_sort (paths, compare_paths);
  g_ptr_array_add (paths, NULL);
  m->data_paths = (GStrv) g_ptr_array_free (g_steal_pointer (&paths), FALSE);
  return TRUE;
}

static gboolean
parse_config (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  if (!json_object_has_member (root, "config"))
    return TRUE;
  JsonObject *config = get_object (ctx, root, "config", "config", FALSE);
  if (!config)
    return FALSE;
  static const char *const keys[] = { "vars", "files", NULL };
  if (!check_keys (ctx, config, "config", keys))
    return FALSE;
  return parse_vars (ctx, config, m) && parse_files (ctx, config, m);
}

static gboolean
parse_boot (Ctx *ctx, JsonObject *root, GenManifest *m)
{
  m->boot_loader = g_strdup (gen_boot_loader_names[0]);
  if (!json_object_has_member (root, "boot"))
    return TRUE;
  JsonObject *boot = get_object (ctx, root, "boot", "boot", FALSE);
  if (!boot)
    return FALSE;
  static const char *const keys[] = { "loader", "limit", NULL };
  if (!check_keys (ctx, boot, "boot", keys))
    return FALSE;

  gboolean ok;
  const char *loader = get_string (ctx, boot, "loader", "boot.loader", &ok);
  if (!ok)
    return FALSE;
  if (loader)
    {
      if (!g_strv_contains (gen_boot_loader_names, loader))
        {
          g_autofree char *list = g_strjoinv ("', '", (char **) gen_boot_loader_names);
          return fail (ctx, "boot.loader", "'%s' is not a boot loader gen writes (expected '%s')",
                       loader, list);
        }
      g_free (m->boot_loader);
      m->boot_loader = g_strdup (loader);
    }

  JsonNode *limit = json_object_get_member (boot, "limit");
  if (limit)
    {
      if (JSON_NODE_HOLDS_VALUE (limit) && json_node_get_value_type (limit) == G_TYPE_DOUBLE)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          return fail (ctx, "boot.limit", "%s is not an integer of at least 1",
                       g_ascii_dtostr (buf, sizeof buf, json_node_get_double (limit)));
        }
      if (!JSON_NODE_HOLDS_VALUE (limit) || json_node_get_value_type (limit) != G_TYPE_INT64)
        return fail (ctx, "boot.limit", "expected an integer of at least 1, got %s",
                     node_type_name (limit));
      gint64 n = json_node_get_int (limit);
      if (n < 1 || n > G_MAXINT)
        return fail (ctx, "boot.limit", "%" G_GINT64_FORMAT " is not an integer of at least 1", n);
      m->boot_limit = n;
    }
  return TRUE;
}

/* The deepest nesting of arrays and objects in @data (valid UTF-8), counting
 * brackets outside strings.  JSON-GLib parses recursively: a few hundred
 * thousand '[' overflow the stack, so this runs before it.  @out_nul tells
 * whether a string holds the escape \u0000. */
static guint
json_depth (const char *data, gsize len, gboolean *out_nul)
{
  guint depth = 0, max = 0;
  gboolean in_string = FALSE;
  *out_nul = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\')
            {
              /* "\u0000" would end the C string JSON-GLib hands back. */
              if (i + 5 < len && data[i + 1] == 'u' && strncmp (data + i + 2, "0000", 4) == 0)
                *out_nul = TRUE;
              i++;
            }
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          depth++;
          max = MAX (max, depth);
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return max;
}

/* Duplicate keys: JSON-GLib keeps the last value silently, so a manifest
 * could say one thing to a reader and another to gen.  Each "object-member"
 * signal is one member parsed; an object holding fewer members than were
 * parsed into it had a key twice. */
typedef struct {
  GHashTable *counts; /* JsonObject * -> members parsed */
  JsonObject *dup_object;
  char *dup_name;
} DupCheck;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  DupCheck *dc = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (dc->counts, object)) + 1;
  g_hash_table_insert (dc->counts, object, GUINT_TO_POINTER (n));
  if (!dc->dup_name && json_object_get_size (object) < n)
    {
      dc->dup_object = object;
      dc->dup_name = g_strdup (name);
    }
}

/* The key of @target below @node, written as errors write keys
 * ("config.files[\"/etc/a\"].mode"), or NULL when it is not there. */
static char *
find_object_key (JsonNode *node, const char *key, JsonObject *target)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *arr = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          g_autofree char *sub = g_strdup_printf ("%s[%u]", key ? key : "", i);
          char *found = find_object_key (json_array_get_element (arr, i), sub, target);
          if (found)
            return found;
        }
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  JsonObject *obj = json_node_get_object (node);
  if (obj == target)
    return g_strdup (key ? key : "");
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      g_autofree char *sub = NULL;
      if (g_strcmp0 (key, "config.files") == 0)
        sub = g_strdup_printf ("%s[\"%s\"]", key, (char *) l->data);
      else
        sub = key ? g_strdup_printf ("%s.%s", key, (char *) l->data) : g_strdup (l->data);
      char *found = find_object_key (json_object_get_member (obj, l->data), sub, target);
      if (found)
        return found;
    }
  return NULL;
}

/* The key of the first member name or string that is not UTF-8 (a "\ud800"
 * escape decodes to half a surrogate pair), or NULL. */
static char *
find_invalid_string (JsonNode *node, const char *key)
{
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      if (json_node_get_value_type (node) == G_TYPE_STRING
          && !g_utf8_validate (json_node_get_string (node), -1, NULL))
        return g_strdup (key ? key : "");
      return NULL;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *arr = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          g_autofree char *sub = g_strdup_printf ("%s[%u]", key ? key : "", i);
          char *found = find_invalid_string (json_array_get_element (arr, i), sub);
          if (found)
            return found;
        }
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      if (!g_utf8_validate (name, -1, NULL))
        return g_strdup (key ? key : "");
      g_autofree char *sub = NULL;
      if (g_strcmp0 (key, "config.files") == 0)
        sub = g_strdup_printf ("%s[\"%s\"]", key, name);
      else
        sub = key ? g_strdup_printf ("%s.%s", key, name) : g_strdup (name);
      char *found = find_invalid_string (json_object_get_member (obj, name), sub);
      if (found)
        return found;
    }
  return NULL;
}

static GenManifest *
parse (const char *data, gsize len, const char *path, const char *dir, gboolean stored,
       GError **error)
{
  Ctx ctx = { path, dir, error, stored };
  if (len > GEN_MANIFEST_MAX_SIZE)
    {
      fail (&ctx, NULL, "larger than %d bytes", GEN_MANIFEST_MAX_SIZE);
      return NULL;
    }
  if (!g_utf8_validate_len (data, len, NULL))
    {
      fail (&ctx, NULL, "not valid UTF-8");
      return NULL;
    }
  gboolean has_nul;
  if (json_depth (data, len, &has_nul) > GEN_MANIFEST_MAX_DEPTH)
    {
      fail (&ctx, NULL, "arrays and objects nested deeper than %d levels", GEN_MANIFEST_MAX_DEPTH);
      return NULL;
    }
  if (has_nul)
    {
      fail (&ctx, NULL, "a string holds \\u0000 (NUL), which no key or value may hold");
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GHashTable) counts = g_hash_table_new (NULL, NULL);
  DupCheck dc = { counts, NULL, NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dc);
  g_autoptr (GError) local_error = NULL;
  gboolean parsed = json_parser_load_from_data (parser, data, len, &local_error);
  g_autofree char *dup_name = g_steal_pointer (&dc.dup_name);
  if (!parsed)
    {
      fail (&ctx, NULL, "not valid JSON: %s", local_error->message);
      return NULL;
    }
  JsonNode *root_node = json_parser_get_root (parser);
  if (dup_name)
    {
      g_autofree char *parent = root_node ? find_object_key (root_node, NULL, dc.dup_object) : NULL;
      g_autofree char *key = NULL;
      if (parent && g_str_equal (parent, "config.files"))
        key = g_strdup_printf ("config.files[\"%s\"]", dup_name);
      else if (parent && *parent)
        key = g_strdup_printf ("%s.%s", parent, dup_name);
      else
        key = g_strdup (dup_name);
      fail (&ctx, key, "the key appears more than once");
      return NULL;
    }
  if (!root_node || !JSON_NODE_HOLDS_OBJECT (root_node))
    {
      fail (&ctx, NULL, "expected a JSON object at the top");
      return NULL;
    }
  g_autofree char *invalid = find_invalid_string (root_node, NULL);
  if (invalid)
    {
      fail (&ctx, *invalid ? invalid : NULL,
            "a key or string is not valid UTF-8 (a \\u escape names half of a surrogate pair)");
      return NULL;
    }
  JsonObject *root = json_node_get_object (root_node);
  static const char *const keys[] = { "os",   "release", "kernel",  "config",
                                      "data", "boot",    "remotes", NULL };
  if (!check_keys (&ctx, root, NULL, keys))
    return NULL;

  g_autoptr (GenManifest) m = g_new0 (GenManifest, 1);
  m->path = g_strdup (path);
  m->dir = g_strdup (dir);
  m->bytes = g_bytes_new (data, len);
  m->vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify) config_file_spec_free);

  gboolean ok;
  const char *os = get_string (&ctx, root, "os", "os", &ok);
  if (!ok)
    return NULL;
  if (!os)
    {
      fail (&ctx, "os", "missing");
      return NULL;
    }
  if (!gen_os_name_is_valid (os))
    {
      fail (&ctx, "os", "'%s' must be lower-case letters, digits, '.', '_' or '-' (at most 64)", os);
      return NULL;
    }
  m->os = g_strdup (os);

  if (!parse_release (&ctx, root, m) || !parse_kernel (&ctx, root, m)
      || !parse_config (&ctx, root, m) || !parse_data (&ctx, root, m)
      || !parse_boot (&ctx, root, m) || !parse_remotes (&ctx, root, m))
    return NULL;
  return g_steal_pointer (&m);
}

GenManifest *
gen_manifest_parse (const char *data, gsize len, const char *path, const char *dir, GError **error)
{
  return parse (data, len, path, dir, FALSE, error);
}

GenManifest *
gen_manifest_parse_stored (const char *data, gsize len, const char *path, const char *dir,
                           GError **error)
{
  return parse (data, len, path, dir, TRUE, error);
}

GenManifest *
gen_manifest_load (const char *path, GError **error)
{
  /* O_NONBLOCK: a FIFO must not hang us; gen_read_file_at refuses non-regular files. */
  gen_autofd fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      gen_throw_errno (error, "opening manifest '%s'", path);
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > GEN_MANIFEST_MAX_SIZE)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "%s: larger than %d bytes", path,
                   GEN_MANIFEST_MAX_SIZE);
      return NULL;
    }
  gsize len;
  g_autofree char *data = gen_read_fd (fd, path, &len, error);
  if (!data)
    return NULL;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *dir = g_path_get_dirname (abs);
  return gen_manifest_parse (data, len, path, dir, error);
}
