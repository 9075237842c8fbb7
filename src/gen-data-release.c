#include "gen-data-release.h"

#include <sys/stat.h>

#include "gen-error.h"

static gint
step_compare (gconstpointer a, gconstpointer b)
{
  const GenDataStep *x = *(GenDataStep **) a, *y = *(GenDataStep **) b;
  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

static gboolean
read_decl (GFile *root, GenDataDecl **out, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) f = g_file_resolve_relative_path (root, GEN_DATA_RELEASE_FILE);
  GFileType type = g_file_query_file_type (f, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable);
  if (type == G_FILE_TYPE_UNKNOWN)
    return TRUE; /* missing: undeclared */
  if (type != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "%s is not a regular file",
                   GEN_DATA_RELEASE_FILE);
      return FALSE;
    }
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_load_contents (f, cancellable, &text, &len, NULL, error))
    {
      g_prefix_error (error, "reading %s: ", GEN_DATA_RELEASE_FILE);
      return FALSE;
    }
  return gen_data_decl_parse_release_file (text, len, out, error);
}

static gboolean
read_steps (GFile *root, GPtrArray *steps, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) dir = g_file_resolve_relative_path (root, GEN_DATA_MIGRATIONS_DIR);
  /* ostree's files do not say G_IO_ERROR_NOT_FOUND: ask first. */
  if (g_file_query_file_type (dir, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable)
      != G_FILE_TYPE_DIRECTORY)
    return TRUE; /* no migrations */
  g_autoptr (GFileEnumerator) e
      = g_file_enumerate_children (dir,
                                   G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE
                                                                  "," G_FILE_ATTRIBUTE_UNIX_MODE,
                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, error);
  if (!e)
    {
      g_prefix_error (error, "reading %s: ", GEN_DATA_MIGRATIONS_DIR);
      return FALSE;
    }
  for (;;)
    {
      GFileInfo *info;
      if (!g_file_enumerator_iterate (e, &info, NULL, cancellable, error))
        return FALSE;
      if (!info)
        break;
      GFileType type = g_file_info_get_file_type (info);
      guint32 mode = g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_UNIX_MODE);
      /* A symlink's target is checked when the step runs. */
      gboolean executable = type == G_FILE_TYPE_SYMBOLIC_LINK
                            || (type == G_FILE_TYPE_REGULAR && (mode & 0111) != 0);
      GenDataStep *step = gen_data_step_parse (g_file_info_get_name (info), executable);
      if (step)
        g_ptr_array_add (steps, step);
    }
  g_ptr_array_sort (steps, step_compare);
  return TRUE;
}

gboolean
gen_data_read_release (OstreeRepo *repo, const char *checksum, GenDataDecl **out_decl,
                       GPtrArray **out_steps, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFile) root = NULL;
  if (!ostree_repo_read_commit (repo, checksum, &root, NULL, cancellable, error))
    return FALSE;
  g_autoptr (GenDataDecl) decl = NULL;
  g_autoptr (GPtrArray) steps
      = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_data_step_free);
  if (!read_decl (root, &decl, cancellable, error) || !read_steps (root, steps, cancellable, error))
    return FALSE;
  *out_decl = g_steal_pointer (&decl);
  *out_steps = g_steal_pointer (&steps);
  return TRUE;
}

gboolean
gen_data_release_fill (OstreeRepo *repo, GenManifest *m, GenGeneration *g, GPtrArray **out_steps,
                       GCancellable *cancellable, GError **error)
{
  g_autoptr (GenDataDecl) from_tree = NULL;
  g_autoptr (GPtrArray) steps = NULL;
  if (!gen_data_read_release (repo, g->release_checksum, &from_tree, &steps, cancellable, error))
    {
      char buf[11];
      g_prefix_error (error, "release %s: ", gen_generation_release_label (g, buf));
      return FALSE;
    }
  GenDataDecl *decl = gen_data_decl_choose (from_tree, m->release_data, error);
  if (!decl)
    {
      g_prefix_error (error, "%s: ", m->path);
      return FALSE;
    }
  gen_data_decl_free (g->data);
  g->data = decl;
  g_strfreev (g->data_paths);
  g->data_paths = g_strdupv (m->data_paths);
  *out_steps = g_steal_pointer (&steps);
  return TRUE;
}
