#include "gen-diff.h"

#include <ostree.h>
#include <string.h>

#include "gen-data.h"
#include "gen-error.h"
#include "gen-packages.h"
#include "gen-store.h"
#include "gen-util.h"

static void
package_change_free (GenPackageChange *c)
{
  g_free (c->name);
  g_free (c->arch);
  g_free (c->old_version);
  g_free (c->new_version);
  g_free (c);
}

static void
file_change_free (GenFileChange *c)
{
  g_free (c->path);
  g_free (c);
}

void
gen_diff_free (GenDiff *d)
{
  if (!d)
    return;
  g_clear_pointer (&d->from, gen_generation_free);
  g_clear_pointer (&d->to, gen_generation_free);
  g_clear_pointer (&d->packages, g_ptr_array_unref);
  g_clear_pointer (&d->config, g_ptr_array_unref);
  g_clear_pointer (&d->files, g_ptr_array_unref);
  g_free (d);
}

gboolean
gen_diff_is_empty (GenDiff *d)
{
  return (!d->packages || d->packages->len == 0) && d->config->len == 0 && d->files->len == 0
         && g_strcmp0 (d->from->kernel_version, d->to->kernel_version) == 0
         && g_strv_equal ((const char *const *) d->from->kernel_args,
                          (const char *const *) d->to->kernel_args)
         && gen_data_decl_equal (d->from->data, d->to->data)
         && g_strv_equal ((const char *const *) d->from->data_paths,
                          (const char *const *) d->to->data_paths);
}

/* --- packages -------------------------------------------------------------- */

static const char *const package_sources[] = { "usr/share/gen/packages.json",
                                               "var/lib/dpkg/status" };

/* The first package source present in @root, with its content checksum. */
static GFile *
find_package_source (GFile *root, guint *out_index, GCancellable *cancellable)
{
  for (guint i = 0; i < G_N_ELEMENTS (package_sources); i++)
    {
      GFile *f = g_file_resolve_relative_path (root, package_sources[i]);
      if (g_file_query_file_type (f, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable)
          == G_FILE_TYPE_REGULAR)
        {
          *out_index = i;
          return f;
        }
      g_object_unref (f);
    }
  return NULL;
}

static GPtrArray *
read_packages (GFile *source, guint index, GCancellable *cancellable, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_load_contents (source, cancellable, &text, NULL, NULL, error))
    return NULL;
  if (index == 0)
    {
      GPtrArray *pkgs = gen_packages_from_json (text, error);
      if (!pkgs)
        g_prefix_error (error, "reading %s: ", package_sources[0]);
      return pkgs;
    }
  return gen_packages_from_dpkg_status (text);
}

static void
add_package_change (GPtrArray *out, GenPackageChangeKind kind, GenPackage *a, GenPackage *b)
{
  GenPackageChange *c = g_new0 (GenPackageChange, 1);
  c->kind = kind;
  c->name = g_strdup (a ? a->name : b->name);
  c->arch = g_strdup (b ? b->arch : a->arch);
  c->old_version = a ? g_strdup (a->version) : NULL;
  c->new_version = b ? g_strdup (b->version) : NULL;
  g_ptr_array_add (out, c);
}

static GPtrArray *
compare_packages (GPtrArray *old_pkgs, GPtrArray *new_pkgs)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) package_change_free);
  guint i = 0, j = 0;
  while (i < old_pkgs->len || j < new_pkgs->len)
    {
      GenPackage *a = i < old_pkgs->len ? old_pkgs->pdata[i] : NULL;
      GenPackage *b = j < new_pkgs->len ? new_pkgs->pdata[j] : NULL;
      int cmp = !a ? 1 : !b ? -1 : strcmp (a->name, b->name);
      if (cmp == 0)
        cmp = g_strcmp0 (a->arch, b->arch);
      if (cmp < 0)
        add_package_change (out, GEN_PACKAGE_REMOVED, a, NULL), i++;
      else if (cmp > 0)
        add_package_change (out, GEN_PACKAGE_ADDED, NULL, b), j++;
      else
        {
          int v = gen_package_version_compare (a->version, b->version);
          if (v != 0)
            add_package_change (out, v < 0 ? GEN_PACKAGE_UPGRADED : GEN_PACKAGE_DOWNGRADED, a, b);
          i++, j++;
        }
    }
  return out;
}

/* NULL packages (and no error) when either side has no package data. */
static gboolean
diff_packages (GenDiff *d, GFile *root_a, GFile *root_b, GCancellable *cancellable,
               GError **error)
{
  guint ia, ib;
  g_autoptr (GFile) src_a = find_package_source (root_a, &ia, cancellable);
  g_autoptr (GFile) src_b = find_package_source (root_b, &ib, cancellable);
  if (!src_a || !src_b)
    return TRUE;
  /* The same object on both sides: nothing to parse. */
  if (ia == ib
      && g_str_equal (ostree_repo_file_get_checksum (OSTREE_REPO_FILE (src_a)),
                      ostree_repo_file_get_checksum (OSTREE_REPO_FILE (src_b))))
    {
      d->packages = g_ptr_array_new_with_free_func ((GDestroyNotify) package_change_free);
      return TRUE;
    }
  g_autoptr (GPtrArray) a = read_packages (src_a, ia, cancellable, error);
  if (!a)
    return FALSE;
  g_autoptr (GPtrArray) b = read_packages (src_b, ib, cancellable, error);
  if (!b)
    return FALSE;
  d->packages = compare_packages (a, b);
  return TRUE;
}

/* --- files ----------------------------------------------------------------- */

static gint64
file_size (GFile *f, GFileInfo *info, GCancellable *cancellable)
{
  g_autoptr (GFileInfo) own = NULL;
  if (!info)
    info = own = g_file_query_info (f, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                    G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, NULL);
  if (!info || g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    return 0;
  return g_file_info_get_size (info);
}

static void
add_file_change (GenDiff *d, GenFileChangeKind kind, GFile *f, gint64 old_size, gint64 new_size)
{
  GenFileChange *c = g_new0 (GenFileChange, 1);
  c->kind = kind;
  c->path = g_file_get_path (f);
  c->old_size = old_size;
  c->new_size = new_size;
  g_ptr_array_add (d->files, c);
  if (kind == GEN_FILE_ADDED)
    d->files_added++, d->size_added += new_size;
  else if (kind == GEN_FILE_REMOVED)
    d->files_removed++;
  else
    d->files_modified++, d->size_added += new_size;
}

static gint
file_change_compare (gconstpointer a, gconstpointer b)
{
  const GenFileChange *fa = *(GenFileChange **) a, *fb = *(GenFileChange **) b;
  gint64 da = ABS (MAX (fa->new_size, 0) - MAX (fa->old_size, 0));
  gint64 db = ABS (MAX (fb->new_size, 0) - MAX (fb->old_size, 0));
  if (da != db)
    return da > db ? -1 : 1;
  return strcmp (fa->path, fb->path);
}

static gboolean
diff_files (GenDiff *d, GFile *root_a, GFile *root_b, GCancellable *cancellable, GError **error)
{
  d->files = g_ptr_array_new_with_free_func ((GDestroyNotify) file_change_free);
  if (g_str_equal (d->from->release_checksum, d->to->release_checksum))
    return TRUE;
  g_autoptr (GPtrArray) modified = g_ptr_array_new_with_free_func ((GDestroyNotify) ostree_diff_item_unref);
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  if (!ostree_diff_dirs (OSTREE_DIFF_FLAGS_NONE, root_a, root_b, modified, removed, added,
                         cancellable, error))
    return FALSE;
  for (guint i = 0; i < modified->len; i++)
    {
      OstreeDiffItem *item = modified->pdata[i];
      add_file_change (d, GEN_FILE_MODIFIED, item->target, file_size (item->src, item->src_info, cancellable),
                       file_size (item->target, item->target_info, cancellable));
    }
  /* ostree lists the paths inside an added or removed folder too. */
  for (guint i = 0; i < removed->len; i++)
    add_file_change (d, GEN_FILE_REMOVED, removed->pdata[i],
                     file_size (removed->pdata[i], NULL, cancellable), -1);
  for (guint i = 0; i < added->len; i++)
    add_file_change (d, GEN_FILE_ADDED, added->pdata[i], -1,
                     file_size (added->pdata[i], NULL, cancellable));
  g_ptr_array_sort (d->files, file_change_compare);
  return TRUE;
}

/* --- size ------------------------------------------------------------------ */

static gboolean
tree_size (GFile *dir, guint64 *total, GCancellable *cancellable, GError **error)
{
  g_autoptr (GFileEnumerator) e = g_file_enumerate_children (
      dir, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE
      "," G_FILE_ATTRIBUTE_STANDARD_SIZE,
      G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, cancellable, error);
  if (!e)
    return FALSE;
  for (;;)
    {
      GFileInfo *info;
      GFile *child;
      if (!g_file_enumerator_iterate (e, &info, &child, cancellable, error))
        return FALSE;
      if (!info)
        return TRUE;
      GFileType type = g_file_info_get_file_type (info);
      if (type == G_FILE_TYPE_REGULAR)
        *total += g_file_info_get_size (info);
      else if (type == G_FILE_TYPE_DIRECTORY && !tree_size (child, total, cancellable, error))
        return FALSE;
    }
}

/* The release's size: recorded in the commit by gen, else summed from its tree. */
static gboolean
release_size (OstreeRepo *repo, const char *checksum, GFile *root, guint64 *out,
              GCancellable *cancellable, GError **error)
{
  g_autoptr (GVariant) commit = NULL;
  if (!ostree_repo_load_commit (repo, checksum, &commit, NULL, error))
    return FALSE;
  g_autoptr (GVariant) meta = g_variant_get_child_value (commit, 0);
  g_auto (GVariantDict) dict;
  g_variant_dict_init (&dict, meta);
  *out = 0;
  if (g_variant_dict_lookup (&dict, GEN_RELEASE_META_SIZE, "t", out))
    return TRUE;
  return tree_size (root, out, cancellable, error);
}

/* --- all of it ------------------------------------------------------------- */

GenDiff *
gen_diff_compute (OstreeRepo *repo, GenGeneration *from, GPtrArray *from_overlay,
                  GenGeneration *to, GPtrArray *to_overlay, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr (GenDiff) d = g_new0 (GenDiff, 1);
  d->from = gen_generation_copy (from);
  d->to = gen_generation_copy (to);
  d->config = gen_render_compare (from_overlay, to_overlay);
  g_autoptr (GFile) root_a = NULL;
  g_autoptr (GFile) root_b = NULL;
  if (!ostree_repo_read_commit (repo, from->release_checksum, &root_a, NULL, cancellable, error)
      || !ostree_repo_read_commit (repo, to->release_checksum, &root_b, NULL, cancellable, error))
    return NULL;
  if (!diff_packages (d, root_a, root_b, cancellable, error)
      || !diff_files (d, root_a, root_b, cancellable, error)
      || !release_size (repo, from->release_checksum, root_a, &d->size_from, cancellable, error)
      || !release_size (repo, to->release_checksum, root_b, &d->size_to, cancellable, error))
    return NULL;
  return g_steal_pointer (&d);
}

GenDiff *
gen_diff_generations (GenSysroot *sysroot, guint from, guint to, GCancellable *cancellable,
                      GError **error)
{
  g_autoptr (GenGeneration) a = gen_sysroot_load_generation (sysroot, from, error);
  if (!a)
    return NULL;
  g_autoptr (GenGeneration) b = gen_sysroot_load_generation (sysroot, to, error);
  if (!b)
    return NULL;
  g_autoptr (GPtrArray) overlay_a = gen_render_read_generation (sysroot->dfd, from, error);
  if (!overlay_a)
    return NULL;
  g_autoptr (GPtrArray) overlay_b = gen_render_read_generation (sysroot->dfd, to, error);
  if (!overlay_b)
    return NULL;
  g_autoptr (OstreeRepo) repo
      = ostree_repo_open_at (sysroot->dfd, GEN_REPO_DIR, cancellable, error);
  if (!repo)
    return NULL;
  return gen_diff_compute (repo, a, overlay_a, b, overlay_b, cancellable, error);
}
