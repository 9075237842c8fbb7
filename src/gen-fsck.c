#include "gen-fsck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-activate.h"
#include "gen-boot.h"
#include "gen-error.h"
#include "gen-pin.h"
#include "gen-render.h"
#include "gen-util.h"

/* A release checkout that differs from its commit in more places than this
 * is reported with the first ones and a count. */
#define MAX_DIFFERENCES 10

typedef struct {
  GenSysroot *s;
  GenStore *store;
  OstreeRepo *repo;
  GenFsckResult *r;
  GHashTable *releases_checked; /* checksum -> GINT_TO_POINTER (TRUE: matches its commit) */
  GHashTable *kernels_checked;  /* boot/<kernel dir>: generations share them */
  guint differences;            /* in the checkout being compared */
  GenBootMenu *menu;            /* the menu the committed generations give; NULL if none */
} Fsck;

static void
problem_free (GenFsckProblem *p)
{
  g_free (p->path);
  g_free (p->message);
  g_free (p);
}

void
gen_fsck_result_free (GenFsckResult *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->problems, g_ptr_array_unref);
  g_clear_pointer (&r->repairs, g_ptr_array_unref);
  g_free (r);
}

static void G_GNUC_PRINTF (4, 5)
problem (Fsck *f, gboolean repairable, const char *path, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_autofree char *raw = g_strdup_vprintf (fmt, args);
  va_end (args);
  GenFsckProblem *p = g_new0 (GenFsckProblem, 1);
  p->path = gen_escape_controls (path);
  p->message = gen_escape_controls (raw);
  p->repairable = repairable;
  g_ptr_array_add (f->r->problems, p);
}

static void G_GNUC_PRINTF (2, 3)
repaired (Fsck *f, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  g_ptr_array_add (f->r->repairs, g_strdup_vprintf (fmt, args));
  va_end (args);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

/* The names in folder @dir of the sysroot, sorted; NULL (and no error) when it
 * does not exist. */
static GPtrArray *
list_dir (Fsck *f, const char *dir, GError **error)
{
  int fd = openat (f->s->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno != ENOENT)
        gen_throw_errno (error, "opening '%s'", dir);
      return NULL;
    }
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      gen_throw_errno (error, "reading '%s'", dir);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  g_ptr_array_sort (names, compare_names);
  return names;
}

static gboolean
parse_number (const char *text, guint *out)
{
  guint64 n;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT, &n, NULL))
    return FALSE;
  *out = n;
  return TRUE;
}

/* --- the store ------------------------------------------------------------- */

static gboolean
check_store (Fsck *f, GCancellable *cancellable, GError **error)
{
  g_autoptr (GHashTable) refs = NULL;
  if (!ostree_repo_list_refs (f->repo, NULL, &refs, cancellable, error))
    return FALSE;
  g_autoptr (GHashTable) objects = ostree_repo_traverse_new_reachable ();
  g_autoptr (GList) names = g_hash_table_get_keys (refs);
  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (GList *l = names; l; l = l->next)
    {
      const char *ref = l->data;
      const char *checksum = g_hash_table_lookup (refs, ref);
      g_autofree char *where = g_strdup_printf (GEN_REPO_DIR " (ref %s)", ref);
      g_autoptr (GVariant) commit = NULL;
      OstreeRepoCommitState state = 0;
      g_autoptr (GError) local_error = NULL;
      if (!ostree_repo_load_commit (f->repo, checksum, &commit, &state, &local_error))
        {
          problem (f, FALSE, where, "commit %s cannot be read: %s", checksum,
                   local_error->message);
          continue;
        }
      if (state & OSTREE_REPO_COMMIT_STATE_PARTIAL)
        {
          problem (f, FALSE, where, "commit %s is partial: some of its objects are missing",
                   checksum);
          continue;
        }
      if (!ostree_repo_traverse_commit_union (f->repo, checksum, 0, objects, cancellable,
                                              &local_error))
        problem (f, FALSE, where, "commit %s: %s", checksum, local_error->message);
    }
  /* Every object once, as `ostree fsck` does: its content against its name. */
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, objects);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const char *checksum;
      OstreeObjectType type;
      ostree_object_name_deserialize (key, &checksum, &type);
      g_autoptr (GError) local_error = NULL;
      f->r->objects++;
      if (!ostree_repo_fsck_object (f->repo, type, checksum, cancellable, &local_error))
        {
          g_autofree char *name = ostree_object_to_string (checksum, type);
          problem (f, FALSE, GEN_REPO_DIR, "object %s: %s", name, local_error->message);
        }
    }
  return TRUE;
}

/* --- a release checkout against its commit --------------------------------- */

static void G_GNUC_PRINTF (3, 4)
difference (Fsck *f, const char *path, const char *fmt, ...)
{
  if (++f->differences > MAX_DIFFERENCES)
    return;
  va_list args;
  va_start (args, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  problem (f, FALSE, path, "%s", msg);
}

/* The store's object for file @checksum: in bare modes a file gen checks out
 * by hard link. */
static char *
object_path (const char *checksum)
{
  return g_strdup_printf ("objects/%.2s/%s.file", checksum, checksum + 2);
}

static gboolean
file_matches (Fsck *f, const char *path, struct stat *st, const char *checksum,
              GCancellable *cancellable)
{
  g_autofree char *obj = object_path (checksum);
  struct stat ost;
  if (fstatat (ostree_repo_get_dfd (f->repo), obj, &ost, AT_SYMLINK_NOFOLLOW) == 0
      && ost.st_dev == st->st_dev && ost.st_ino == st->st_ino)
    return TRUE; /* the store's own inode: the store check covers its content */
  OstreeChecksumFlags flags = OSTREE_CHECKSUM_FLAGS_NONE;
  if (ostree_repo_get_mode (f->repo) != OSTREE_REPO_MODE_BARE)
    flags |= OSTREE_CHECKSUM_FLAGS_CANONICAL_PERMISSIONS | OSTREE_CHECKSUM_FLAGS_IGNORE_XATTRS;
  g_autofree char *actual = NULL;
  if (!ostree_checksum_file_at (f->s->dfd, path, st, OSTREE_OBJECT_TYPE_FILE, flags, &actual,
                                cancellable, NULL))
    return FALSE;
  return g_str_equal (actual, checksum);
}

/* Compares folder @path of the sysroot with dirtree @tree_checksum. */
static gboolean
compare_tree (Fsck *f, const char *path, const char *tree_checksum, const char *meta_checksum,
              GCancellable *cancellable, GError **error)
{
  g_autoptr (GVariant) tree = NULL, meta = NULL;
  if (!ostree_repo_load_variant (f->repo, OSTREE_OBJECT_TYPE_DIR_TREE, tree_checksum, &tree,
                                 error)
      || !ostree_repo_load_variant (f->repo, OSTREE_OBJECT_TYPE_DIR_META, meta_checksum, &meta,
                                    error))
    return FALSE;
  struct stat st;
  if (fstatat (f->s->dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    {
      difference (f, path, "should be a folder");
      return TRUE;
    }
  guint32 uid, gid, mode;
  g_variant_get (meta, "(uuu@a(ayay))", &uid, &gid, &mode, NULL);
  uid = GUINT32_FROM_BE (uid), gid = GUINT32_FROM_BE (gid), mode = GUINT32_FROM_BE (mode);
  if (ostree_repo_get_mode (f->repo) == OSTREE_REPO_MODE_BARE
      && ((st.st_mode & 07777) != (mode & 07777) || st.st_uid != uid || st.st_gid != gid))
    difference (f, path, "folder mode or owner differs from the release (%04o %u:%u, not %04o %u:%u)",
                st.st_mode & 07777, st.st_uid, st.st_gid, mode & 07777, uid, gid);

  g_autoptr (GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GVariant) files = g_variant_get_child_value (tree, 0);
  g_autoptr (GVariant) dirs = g_variant_get_child_value (tree, 1);
  GVariantIter it;
  const char *name;
  GVariant *csum_v;
  g_variant_iter_init (&it, files);
  while (g_variant_iter_loop (&it, "(&s@ay)", &name, &csum_v))
    {
      g_hash_table_add (expected, (gpointer) name);
      g_autofree char *checksum = ostree_checksum_from_bytes_v (csum_v);
      g_autofree char *child = g_build_filename (path, name, NULL);
      struct stat cst;
      if (fstatat (f->s->dfd, child, &cst, AT_SYMLINK_NOFOLLOW) < 0)
        difference (f, child, "is missing from the checkout");
      else if (S_ISDIR (cst.st_mode))
        difference (f, child, "is a folder, the release has a file");
      else if (!file_matches (f, child, &cst, checksum, cancellable))
        difference (f, child, "differs from the release (object %s)", checksum);
    }
  GVariant *tree_v, *meta_v;
  g_variant_iter_init (&it, dirs);
  while (g_variant_iter_loop (&it, "(&s@ay@ay)", &name, &tree_v, &meta_v))
    {
      g_hash_table_add (expected, (gpointer) name);
      g_autofree char *sub_tree = ostree_checksum_from_bytes_v (tree_v);
      g_autofree char *sub_meta = ostree_checksum_from_bytes_v (meta_v);
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (!compare_tree (f, child, sub_tree, sub_meta, cancellable, error))
        return FALSE;
    }
  g_autoptr (GPtrArray) present = list_dir (f, path, error);
  if (!present)
    return error == NULL || *error == NULL;
  for (guint i = 0; i < present->len; i++)
    if (!g_hash_table_contains (expected, present->pdata[i]))
      {
        g_autofree char *child = g_build_filename (path, present->pdata[i], NULL);
        difference (f, child, "is not in the release");
      }
  return TRUE;
}

/* Checks gen/deploy/<checksum> once per release. */
static gboolean
check_release (Fsck *f, const char *checksum, GCancellable *cancellable)
{
  gpointer cached;
  if (g_hash_table_lookup_extended (f->releases_checked, checksum, NULL, &cached))
    return GPOINTER_TO_INT (cached);
  g_autofree char *deploy = gen_sysroot_deploy_path (checksum);
  gboolean ok = FALSE;
  g_autoptr (GVariant) commit = NULL;
  g_autoptr (GError) local_error = NULL;
  if (!gen_exists_at (f->s->dfd, deploy))
    problem (f, FALSE, deploy, "the release checkout is missing");
  else if (!ostree_repo_load_variant (f->repo, OSTREE_OBJECT_TYPE_COMMIT, checksum, &commit,
                                      &local_error))
    problem (f, FALSE, deploy, "its commit is not in the store: %s", local_error->message);
  else
    {
      g_autoptr (GVariant) tree_v = NULL, meta_v = NULL;
      g_variant_get_child (commit, 6, "@ay", &tree_v);
      g_variant_get_child (commit, 7, "@ay", &meta_v);
      g_autofree char *tree = ostree_checksum_from_bytes_v (tree_v);
      g_autofree char *meta = ostree_checksum_from_bytes_v (meta_v);
      guint before = f->r->problems->len;
      f->differences = 0;
      if (!compare_tree (f, deploy, tree, meta, cancellable, &local_error))
        problem (f, FALSE, deploy, "cannot compare with commit %s: %s", checksum,
                 local_error->message);
      if (f->differences > MAX_DIFFERENCES)
        problem (f, FALSE, deploy, "%u more differences from commit %s",
                 f->differences - MAX_DIFFERENCES, checksum);
      ok = f->r->problems->len == before;
      f->r->releases++;
    }
  g_hash_table_insert (f->releases_checked, g_strdup (checksum), GINT_TO_POINTER (ok));
  return ok;
}

/* --- generations ----------------------------------------------------------- */

/* TRUE when files @a and @b (relative to the sysroot) have the same bytes. */
static gboolean
same_bytes (Fsck *f, const char *a, const char *b)
{
  gen_autofd fa = openat (f->s->dfd, a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  gen_autofd fb = openat (f->s->dfd, b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fa < 0 || fb < 0)
    return FALSE;
  for (;;)
    {
      char ba[65536], bb[65536];
      ssize_t na = read (fa, ba, sizeof ba);
      if (na < 0)
        return FALSE;
      gsize got = 0;
      while (got < (gsize) na)
        {
          ssize_t nb = read (fb, bb + got, na - got);
          if (nb <= 0)
            return FALSE;
          got += nb;
        }
      if (memcmp (ba, bb, na) != 0)
        return FALSE;
      if (na == 0)
        return read (fb, bb, 1) == 0;
    }
}

/* The kernel and initramfs in boot/ are copies of the release's. */
static void
check_kernel (Fsck *f, GenGeneration *g, gboolean release_ok)
{
  if (!g->kernel_dir || !g->kernel_version)
    {
      problem (f, FALSE, GEN_GENERATIONS_DIR, "generation %u records no kernel", g->number);
      return;
    }
  if (!g_hash_table_add (f->kernels_checked, g_strdup (g->kernel_dir)))
    return;
  static const char *const files[][2] = { { "vmlinuz", "vmlinuz" },
                                          { "initrd.img", "initramfs.img" } };
  for (guint i = 0; i < (g->has_initrd ? 2u : 1u); i++)
    {
      g_autofree char *boot = g_build_filename (GEN_BOOT_DIR, g->kernel_dir, files[i][0], NULL);
      g_autofree char *src = g_strdup_printf (GEN_DEPLOY_DIR "/%s/usr/lib/modules/%s/%s",
                                              g->release_checksum, g->kernel_version, files[i][1]);
      if (!gen_exists_at (f->s->dfd, boot))
        problem (f, FALSE, boot, "is missing (generation %u and any other with this kernel boot it)",
                 g->number);
      else if (release_ok && !same_bytes (f, boot, src))
        problem (f, FALSE, boot, "differs from the release's usr/lib/modules/%s/%s",
                 g->kernel_version, files[i][1]);
    }
}

/* What a generation needs to boot, but its entry. */
static gboolean
bootable (Fsck *f, GenGeneration *g)
{
  g_autofree char *deploy = gen_sysroot_deploy_path (g->release_checksum);
  g_autofree char *etc = g_strdup_printf (GEN_GENERATIONS_DIR "/%u/etc", g->number);
  g_autofree char *vmlinuz = g->kernel_dir ? g_build_filename (GEN_BOOT_DIR, g->kernel_dir,
                                                               "vmlinuz", NULL)
                                           : NULL;
  g_autofree char *initrd = g->kernel_dir ? g_build_filename (GEN_BOOT_DIR, g->kernel_dir,
                                                              "initrd.img", NULL)
                                          : NULL;
  return gen_exists_at (f->s->dfd, deploy) && gen_exists_at (f->s->dfd, etc) && vmlinuz
         && gen_exists_at (f->s->dfd, vmlinuz) && (!g->has_initrd || gen_exists_at (f->s->dfd, initrd));
}

static GenRenderedFile *
find_rendered (GPtrArray *files, const char *path)
{
  for (guint i = 0; i < files->len; i++)
    if (g_str_equal (((GenRenderedFile *) files->pdata[i])->path, path))
      return files->pdata[i];
  return NULL;
}

/* The overlay is what the generation's manifest renders to. */
static void
check_overlay (Fsck *f, GenGeneration *g)
{
  g_autofree char *dir = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", g->number);
  g_autofree char *etc = g_build_filename (dir, "etc", NULL);
  g_autofree char *mpath = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) overlay = gen_render_read (f->s->dfd, etc, &local_error);
  if (!overlay)
    {
      problem (f, FALSE, etc, "the config overlay cannot be read: %s", local_error->message);
      return;
    }
  g_autofree char *digest = gen_render_digest (overlay);
  if (!g->config_digest || !g_str_equal (digest, g->config_digest))
    problem (f, FALSE, etc, "the config overlay does not match the digest in generation.json");

  gsize len;
  g_autofree char *text = gen_read_file_at (f->s->dfd, mpath, &len, &local_error);
  if (!text)
    {
      problem (f, FALSE, mpath, "cannot be read: %s", local_error->message);
      return;
    }
  g_autofree char *mdir = g->manifest_path ? g_path_get_dirname (g->manifest_path) : g_strdup ("/");
  g_autoptr (GenManifest) m = gen_manifest_parse_stored (text, len, mpath, mdir, &local_error);
  if (!m)
    {
      problem (f, FALSE, mpath, "is not a valid manifest: %s", local_error->message);
      return;
    }
  if (!g_str_equal (m->os, g->os))
    problem (f, FALSE, mpath, "names OS '%s', the generation '%s'", m->os, g->os);
  if (!g_strv_equal ((const char *const *) m->kernel_args, (const char *const *) g->kernel_args))
    problem (f, FALSE, mpath, "its kernel.args differ from generation.json's");
  for (guint i = 0; i < m->files->len; i++)
    {
      GenConfigFileSpec *spec = m->files->pdata[i];
      g_autofree char *where = g_build_filename (etc, spec->path + strlen ("/etc/"), NULL);
      GenRenderedFile *have = find_rendered (overlay, spec->path);
      if (!have)
        {
          problem (f, FALSE, where, "is missing from the overlay (the manifest names it)");
          continue;
        }
      if ((spec->kind == GEN_CONFIG_SYMLINK) != have->is_symlink)
        {
          problem (f, FALSE, where, "should be a %s", have->is_symlink ? "file" : "symlink");
          continue;
        }
      if (spec->kind == GEN_CONFIG_SYMLINK)
        {
          if (!g_str_equal (spec->value, have->target))
            problem (f, FALSE, where, "links to '%s', the manifest says '%s'", have->target,
                     spec->value);
          continue;
        }
      if (have->mode != spec->mode)
        problem (f, FALSE, where, "has mode %04o, the manifest says %04o", have->mode, spec->mode);
      if (spec->kind == GEN_CONFIG_CONTENT)
        {
          /* Self-contained: render it again.  Templates and sources live
           * beside the manifest and may have changed since. */
          g_autoptr (GError) render_error = NULL;
          g_autofree char *want = gen_render_substitute (spec->value, m->vars, mpath, &render_error);
          gsize have_len;
          const char *have_data = g_bytes_get_data (have->content, &have_len);
          if (!want || strlen (want) != have_len || memcmp (want, have_data, have_len) != 0)
            problem (f, FALSE, where, "differs from what the manifest renders");
        }
    }
  for (guint i = 0; i < overlay->len; i++)
    {
      GenRenderedFile *have = overlay->pdata[i];
      gboolean named = FALSE;
      for (guint j = 0; j < m->files->len && !named; j++)
        named = g_str_equal (((GenConfigFileSpec *) m->files->pdata[j])->path, have->path);
      if (!named)
        {
          g_autofree char *where = g_build_filename (etc, have->path + strlen ("/etc/"), NULL);
          problem (f, FALSE, where, "is in the overlay but not in the manifest");
        }
    }
}

static void
check_generation (Fsck *f, GenGeneration *g, GCancellable *cancellable)
{
  g_autofree char *dir = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", g->number);
  if (f->s->os && !g_str_equal (g->os, f->s->os))
    problem (f, FALSE, dir, "generation %u is for OS '%s', the sysroot for '%s'", g->number, g->os,
             f->s->os);
  check_overlay (f, g);
  gboolean release_ok = check_release (f, g->release_checksum, cancellable);
  check_kernel (f, g, release_ok);

  g_autofree char *ref = g_strdup_printf (GEN_GENERATION_REF_PREFIX "/%u", g->number);
  g_autofree char *target = NULL;
  if (!ostree_repo_resolve_rev (f->repo, ref, TRUE, &target, NULL) || !target)
    problem (f, TRUE, GEN_REPO_DIR, "ref %s is missing (it keeps generation %u's release)", ref,
             g->number);
  else if (!g_str_equal (target, g->release_checksum))
    problem (f, FALSE, GEN_REPO_DIR, "ref %s names %s, generation %u's release is %s", ref, target,
             g->number, g->release_checksum);

  /* The entries are checked against the whole menu once every record is read. */
}

/* Each generation in the menu has its entry as the menu gives it; one the
 * menu leaves out (boot.limit) has none. */
static void
check_menu_entries (Fsck *f, GHashTable *committed)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, committed);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GenGeneration *g = value;
      g_autofree char *name = gen_boot_entry_name (g->os, g->number);
      g_autofree char *entry = g_build_filename (GEN_ENTRIES_DIR, name, NULL);
      g_autofree char *have = gen_read_file_at (f->s->dfd, entry, NULL, NULL);
      GenBootEntry *e = f->menu ? gen_boot_menu_lookup (f->menu, g->number) : NULL;
      gboolean can_write = bootable (f, g);
      if (!e)
        {
          if (have && f->menu)
            problem (f, TRUE, entry, "is still there, but the menu leaves generation %u out",
                     g->number);
          continue;
        }
      g_autofree char *want = gen_boot_entry_text (e);
      if (!have)
        problem (f, can_write, entry, "is missing (generation %u has no boot entry)", g->number);
      else if (!g_str_equal (have, want))
        problem (f, can_write, entry, "differs from what generation %u's record gives", g->number);
    }
}

/* Generation N's record, or NULL with a problem. */
static GenGeneration *
load_generation (Fsck *f, guint n)
{
  g_autoptr (GError) local_error = NULL;
  GenGeneration *g = gen_sysroot_load_generation (f->s, n, &local_error);
  if (!g)
    {
      g_autofree char *path = g_strdup_printf (GEN_GENERATIONS_DIR "/%u/generation.json", n);
      problem (f, FALSE, path, "%s", local_error->message);
    }
  return g;
}

/* --- leftovers, the boot menu and the pointers ----------------------------- */

static gboolean
is_tmp_name (const char *name)
{
  return name[0] == '.' && strstr (name, ".tmp-") != NULL;
}

static gboolean
check_leftovers (Fsck *f, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) tmp = list_dir (f, GEN_TMP_DIR, error);
  if (!tmp && error && *error)
    return FALSE;
  for (guint i = 0; tmp && i < tmp->len; i++)
    {
      g_autofree char *path = g_build_filename (GEN_TMP_DIR, tmp->pdata[i], NULL);
      problem (f, TRUE, path, "left by an interrupted run");
    }
  g_autofree char *kernels = f->s->os ? g_build_filename (GEN_BOOT_DIR, f->s->os, NULL) : NULL;
  const char *const dirs[] = { GEN_STATE_DIR, GEN_DEPLOY_DIR, GEN_GENERATIONS_DIR, GEN_LOADER_DIR,
                               GEN_ENTRIES_DIR, GEN_BOOT_DIR, kernels };
  for (guint d = 0; d < G_N_ELEMENTS (dirs) && dirs[d]; d++)
    {
      g_autoptr (GPtrArray) names = list_dir (f, dirs[d], error);
      if (!names && error && *error)
        return FALSE;
      for (guint i = 0; names && i < names->len; i++)
        if (is_tmp_name (names->pdata[i]))
          {
            g_autofree char *path = g_build_filename (dirs[d], names->pdata[i], NULL);
            problem (f, TRUE, path, "a temporary file left by an interrupted run");
          }
    }
  if (gen_exists_at (f->s->dfd, GEN_UNPRUNED_FILE))
    problem (f, TRUE, GEN_UNPRUNED_FILE,
             "left by a run that moved a release's ref and did not finish (a release no ref "
             "names may be left in the store)");
  g_autoptr (GHashTable) refs = NULL;
  if (!ostree_repo_list_refs_ext (f->repo, GEN_GENERATION_REF_PREFIX, &refs,
                                  OSTREE_REPO_LIST_REFS_EXT_NONE, cancellable, error))
    return FALSE;
  g_autoptr (GList) ref_names = g_hash_table_get_keys (refs);
  ref_names = g_list_sort (ref_names, (GCompareFunc) g_strcmp0);
  for (GList *l = ref_names; l; l = l->next)
    {
      const char *slash = strrchr (l->data, '/');
      guint n;
      if (!slash || !parse_number (slash + 1, &n))
        continue;
      g_autofree char *folder = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", n);
      if (n > f->s->last)
        problem (f, TRUE, GEN_REPO_DIR, "ref %s names a generation that was never committed",
                 (char *) l->data);
      else if (!gen_exists_at (f->s->dfd, folder))
        problem (f, TRUE, GEN_REPO_DIR, "ref %s names a generation that was removed",
                 (char *) l->data);
    }
  g_autoptr (GPtrArray) repo_tmp = list_dir (f, GEN_REPO_DIR "/tmp", error);
  if (!repo_tmp && error && *error)
    return FALSE;
  for (guint i = 0; repo_tmp && i < repo_tmp->len; i++)
    if (g_str_has_prefix (repo_tmp->pdata[i], "staging-"))
      {
        g_autofree char *path = g_build_filename (GEN_REPO_DIR "/tmp", repo_tmp->pdata[i], NULL);
        problem (f, TRUE, path, "an import left by an interrupted run");
      }
  return TRUE;
}

/* Checkouts and kernel folders no committed generation uses: a failed or
 * interrupted switch made them; the next cleanup removes them (when every
 * record could be read, as here: @loaded of @total). */
static gboolean
check_unused (Fsck *f, GHashTable *committed, guint total, GError **error)
{
  if (g_hash_table_size (committed) != total)
    return TRUE;
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, committed);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      GenGeneration *g = value;
      g_hash_table_add (used, gen_sysroot_deploy_path (g->release_checksum));
      if (g->kernel_dir)
        g_hash_table_add (used, g_build_filename (GEN_BOOT_DIR, g->kernel_dir, NULL));
    }
  g_autofree char *kernels = f->s->os ? g_build_filename (GEN_BOOT_DIR, f->s->os, NULL) : NULL;
  const char *const dirs[] = { GEN_DEPLOY_DIR, kernels };
  for (guint d = 0; d < G_N_ELEMENTS (dirs) && dirs[d]; d++)
    {
      g_autoptr (GPtrArray) names = list_dir (f, dirs[d], error);
      if (!names && error && *error)
        return FALSE;
      for (guint i = 0; names && i < names->len; i++)
        {
          const char *name = names->pdata[i];
          g_autofree char *path = g_build_filename (dirs[d], name, NULL);
          if (name[0] != '.' && !g_hash_table_contains (used, path))
            problem (f, TRUE, path, "no generation uses it (left by a failed or interrupted switch)");
        }
    }
  return TRUE;
}

/* Every entry of gen's OS names a committed generation. */
static gboolean
check_entries (Fsck *f, GHashTable *committed, GError **error)
{
  if (!f->s->os)
    return TRUE;
  g_autoptr (GPtrArray) names = list_dir (f, GEN_ENTRIES_DIR, error);
  if (!names)
    {
      if (error && *error)
        return FALSE;
      problem (f, FALSE, GEN_ENTRIES_DIR, "is missing");
      return TRUE;
    }
  for (guint i = 0; i < names->len; i++)
    {
      guint n;
      if (!gen_boot_entry_number (f->s->os, names->pdata[i], &n))
        continue;
      g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, names->pdata[i], NULL);
      if (n > f->s->last)
        problem (f, TRUE, path, "names generation %u, which was never committed (an interrupted run)", n);
      else if (!g_hash_table_contains (committed, GUINT_TO_POINTER (n)))
        problem (f, TRUE, path, "names generation %u, which does not exist", n);
    }
  return TRUE;
}

static void
check_pointers (Fsck *f, GHashTable *committed)
{
  GenSysroot *s = f->s;
  if (s->last > 0 && !s->os)
    problem (f, FALSE, GEN_STATE_FILE, "has generations but no OS");
  const struct {
    const char *what;
    guint n;
  } pointers[] = { { "current", s->current }, { "default", s->default_gen } };
  for (guint i = 0; i < G_N_ELEMENTS (pointers); i++)
    {
      guint n = pointers[i].n;
      if (n == 0)
        continue;
      GenGeneration *g = g_hash_table_lookup (committed, GUINT_TO_POINTER (n));
      g_autoptr (GError) local_error = NULL;
      if (n > s->last)
        problem (f, FALSE, GEN_STATE_FILE, "%s generation %u is above last (%u)", pointers[i].what,
                 n, s->last);
      else if (!g)
        problem (f, FALSE, GEN_STATE_FILE, "%s generation %u does not exist", pointers[i].what, n);
      else if (!gen_generation_check_complete (s, g, &local_error))
        problem (f, FALSE, GEN_STATE_FILE, "%s generation %u is not complete: %s",
                 pointers[i].what, n, local_error->message);
    }

  /* The boot default: loader.conf names the default generation's entry.  A
   * run interrupted between state.json and loader.conf leaves the old one
   * (docs/architecture.md); the next run, or --repair, rewrites it. */
  if (s->default_gen == 0 || !s->os)
    return;
  g_autofree char *want = gen_boot_entry_name (s->os, s->default_gen);
  g_autofree char *have = gen_boot_read_default (s->dfd);
  GenGeneration *def = g_hash_table_lookup (committed, GUINT_TO_POINTER (s->default_gen));
  gboolean can_write = def && bootable (f, def);
  if (!have)
    problem (f, can_write, GEN_LOADER_CONF, "names no default entry; the default generation is %u",
             s->default_gen);
  else if (!g_str_equal (have, want))
    problem (f, can_write, GEN_LOADER_CONF,
             "names %s, but the default generation is %u (a run was interrupted before it "
             "rewrote loader.conf)",
             have, s->default_gen);
}

/* --- repairs --------------------------------------------------------------- */

/* The entries under boot/loader/entries: name -> content. */
static GHashTable *
snapshot_entries (GenSysroot *s)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  int fd = openat (s->dfd, GEN_ENTRIES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      if (fd >= 0)
        close (fd);
      return t;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, de->d_name, NULL);
      char *text = gen_read_file_at (s->dfd, path, NULL, NULL);
      g_hash_table_insert (t, g_strdup (de->d_name), text ? text : g_strdup (""));
    }
  closedir (d);
  return t;
}

/* Says which entries the repairs wrote, rewrote or removed. */
static void
report_entries (Fsck *f, GHashTable *before, GHashTable *after)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, after);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const char *old = g_hash_table_lookup (before, key);
      if (!old)
        repaired (f, "wrote %s/%s", GEN_ENTRIES_DIR, (char *) key);
      else if (!g_str_equal (old, value))
        repaired (f, "rewrote %s/%s", GEN_ENTRIES_DIR, (char *) key);
    }
  g_hash_table_iter_init (&it, before);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint n;
      if (g_hash_table_contains (after, key))
        continue;
      if (f->s->os && gen_boot_entry_number (f->s->os, key, &n))
        {
          g_autofree char *dir = g_strdup_printf (GEN_GENERATIONS_DIR "/%u", n);
          if (!gen_exists_at (f->s->dfd, dir) || n > f->s->last)
            {
              repaired (f, "removed %s/%s (generation %u does not exist)", GEN_ENTRIES_DIR,
                        (char *) key, n);
              continue;
            }
        }
      repaired (f, "removed %s/%s (not in the boot menu)", GEN_ENTRIES_DIR, (char *) key);
    }
}

static gboolean
repair (Fsck *f, GCancellable *cancellable, GError **error)
{
  GenSysroot *s = f->s;
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *loader_before = gen_boot_read_default (s->dfd);
  g_autoptr (GHashTable) entries_before = snapshot_entries (s);
  if (!gen_sysroot_cleanup (s, removed, error)
      || !gen_store_cleanup (f->store, s->last, TRUE, removed, cancellable, error))
    return FALSE;
  for (guint i = 0; i < removed->len; i++)
    if (!g_str_has_prefix (removed->pdata[i], GEN_ENTRIES_DIR "/"))
      repaired (f, "removed %s (left by an interrupted run)", (char *) removed->pdata[i]);

  g_autoptr (GPtrArray) numbers = list_dir (f, GEN_GENERATIONS_DIR, error);
  if (!numbers && error && *error)
    return FALSE;
  g_autoptr (GHashTable) committed = g_hash_table_new (NULL, NULL);
  for (guint i = 0; numbers && i < numbers->len; i++)
    {
      guint n;
      if (!parse_number (numbers->pdata[i], &n) || n > s->last)
        continue;
      g_autoptr (GenGeneration) g = gen_sysroot_load_generation (s, n, NULL);
      if (!g)
        continue;
      g_hash_table_add (committed, GUINT_TO_POINTER (n));
      /* Its ref, when the release is in the store. */
      g_autofree char *ref = g_strdup_printf (GEN_GENERATION_REF_PREFIX "/%u", n);
      g_autofree char *target = NULL;
      gboolean has_commit = FALSE;
      ostree_repo_has_object (f->repo, OSTREE_OBJECT_TYPE_COMMIT, g->release_checksum,
                              &has_commit, cancellable, NULL);
      if (has_commit && (!ostree_repo_resolve_rev (f->repo, ref, TRUE, &target, NULL) || !target))
        {
          if (!gen_store_set_generation_ref (f->store, n, g->release_checksum, cancellable, error))
            return FALSE;
          repaired (f, "set ref %s to generation %u's release", ref, n);
        }
    }

  /* Entries of generations that do not exist. */
  g_autoptr (GPtrArray) entries = s->os ? list_dir (f, GEN_ENTRIES_DIR, error) : NULL;
  if (!entries && error && *error)
    return FALSE;
  for (guint i = 0; entries && i < entries->len; i++)
    {
      guint n;
      if (!gen_boot_entry_number (s->os, entries->pdata[i], &n)
          || g_hash_table_contains (committed, GUINT_TO_POINTER (n)))
        continue;
      g_autofree char *path = g_build_filename (GEN_ENTRIES_DIR, entries->pdata[i], NULL);
      if (unlinkat (s->dfd, path, 0) < 0 && errno != ENOENT)
        return gen_throw_errno (error, "removing '%s'", path);
      repaired (f, "removed %s (generation %u does not exist)", path, n);
    }
  if (entries && !gen_fsync_dir_at (s->dfd, GEN_ENTRIES_DIR, error))
    return FALSE;

  /* loader.conf: gen_sysroot_cleanup() rewrote it if the default generation
   * is complete; say so. */
  g_autoptr (GHashTable) entries_after = snapshot_entries (s);
  report_entries (f, entries_before, entries_after);
  g_autofree char *loader_after = gen_boot_read_default (s->dfd);
  if (g_strcmp0 (loader_before, loader_after) != 0)
    repaired (f, "rewrote %s: default %s", GEN_LOADER_CONF, loader_after ? loader_after : "none");
  return TRUE;
}

/* --- the whole check ------------------------------------------------------- */

GenFsckResult *
gen_fsck (GenSysroot *sysroot, GenFsckFlags flags, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (sysroot->lock_fd >= 0, NULL);
  g_autoptr (GenFsckResult) r = g_new0 (GenFsckResult, 1);
  r->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);
  r->repairs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GenStore) store = gen_store_open (sysroot, cancellable, error);
  if (!store)
    return NULL;
  g_autoptr (GHashTable) releases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) kernels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Fsck f = { sysroot, store, gen_store_get_repo (store), r, releases, kernels, 0 };

  if ((flags & GEN_FSCK_REPAIR) && !repair (&f, cancellable, error))
    {
      g_prefix_error (error, "repairing: ");
      return NULL;
    }

  if (!check_store (&f, cancellable, error) || !check_leftovers (&f, cancellable, error))
    return NULL;

  /* Every committed generation: folders up to `last` (some may be gone:
   * only the current and default ones must exist). */
  g_autoptr (GPtrArray) numbers = list_dir (&f, GEN_GENERATIONS_DIR, error);
  if (!numbers)
    {
      if (error && *error)
        return NULL;
      problem (&f, FALSE, GEN_GENERATIONS_DIR, "is missing");
      numbers = g_ptr_array_new_with_free_func (g_free);
    }
  g_autoptr (GHashTable) committed = g_hash_table_new_full (NULL, NULL, NULL,
                                                            (GDestroyNotify) gen_generation_free);
  g_autoptr (GArray) sorted = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < numbers->len; i++)
    {
      guint n;
      if (!parse_number (numbers->pdata[i], &n))
        continue;
      if (n > sysroot->last)
        {
          g_autofree char *path = g_build_filename (GEN_GENERATIONS_DIR, numbers->pdata[i], NULL);
          problem (&f, TRUE, path, "generation %u was never committed (an interrupted run)", n);
          continue;
        }
      g_array_append_val (sorted, n);
    }
  g_array_sort (sorted, compare_uint);
  for (guint i = 0; i < sorted->len; i++)
    {
      guint n = g_array_index (sorted, guint, i);
      GenGeneration *g = load_generation (&f, n);
      if (!g)
        continue;
      g_hash_table_insert (committed, GUINT_TO_POINTER (n), g);
      check_generation (&f, g, cancellable);
      r->generations++;
    }
  if (sysroot->os && sysroot->default_gen
      && g_hash_table_contains (committed, GUINT_TO_POINTER (sysroot->default_gen)))
    {
      g_autoptr (GPtrArray) gens = g_ptr_array_new_with_free_func ((GDestroyNotify) gen_generation_free);
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, committed);
      while (g_hash_table_iter_next (&it, NULL, &value))
        g_ptr_array_add (gens, gen_generation_copy (value));
      g_autoptr (GError) pins_error = NULL;
      g_autofree guint *pins = gen_pins_load (sysroot, &pins_error);
      if (!pins)
        problem (&f, FALSE, GEN_PINS_FILE, "%s", pins_error->message);
      f.menu = gen_boot_menu_new (sysroot->os, gens, sysroot->default_gen, sysroot->current, pins,
                                  NULL);
    }
  check_menu_entries (&f, committed);
  g_clear_pointer (&f.menu, gen_boot_menu_free);
  if (!check_unused (&f, committed, sorted->len, error) || !check_entries (&f, committed, error))
    return NULL;
  check_pointers (&f, committed);
  return g_steal_pointer (&r);
}
