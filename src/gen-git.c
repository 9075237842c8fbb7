#include "gen-git.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* git's output, or NULL when it fails or is missing.  The program is looked
 * up once with access() rather than by G_SPAWN_SEARCH_PATH, which tries an
 * execve() in every PATH folder before the right one. */
static char *
run_git (const char *dir, const char *const *args)
{
  static char *git;
  if (!git && !(git = g_find_program_in_path ("git")))
    return NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, git);
  g_ptr_array_add (argv, (char *) "-C");
  g_ptr_array_add (argv, (char *) dir);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL;
  gint status;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                     &out, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

/* Whether git could find a repository for @dir: unless the environment
 * names one, git looks for ".git" in @dir and its parents, so when none has
 * it git would fail and the fork and exec are saved.  (git may stop earlier,
 * at a file system boundary or a ceiling; then it is run and decides.) */
static gboolean
in_git_tree (const char *dir)
{
  if (g_getenv ("GIT_DIR") || g_getenv ("GIT_WORK_TREE"))
    return TRUE;
  g_autofree char *d = g_canonicalize_filename (dir, NULL);
  for (;;)
    {
      g_autofree char *dot_git = g_build_filename (d, ".git", NULL);
      if (access (dot_git, F_OK) == 0 || errno != ENOENT)
        return TRUE;
      char *slash = strrchr (d, '/');
      if (!slash || slash == d)
        break;
      *slash = '\0';
    }
  g_autofree char *top = g_build_filename ("/", ".git", NULL);
  return access (top, F_OK) == 0 || errno != ENOENT;
}

/* One git run: `status --porcelain=v2 --branch` starts with the header
 * "# branch.oid <commit>" ("(initial)" before the first commit), and every
 * other line is a change under @dir, untracked files included. */
void
gen_git_describe (const char *dir, char **out_revision, gboolean *out_dirty)
{
  static const char *const args[] = { "status", "--porcelain=v2", "--branch", "--", ".", NULL };
  *out_revision = NULL;
  *out_dirty = FALSE;
  if (!in_git_tree (dir))
    return;
  g_autofree char *out = run_git (dir, args);
  if (!out)
    return;
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  const char *oid = NULL;
  gboolean dirty = FALSE;
  for (char **l = lines; *l; l++)
    {
      if (g_str_has_prefix (*l, "# branch.oid "))
        oid = *l + strlen ("# branch.oid ");
      else if (**l != '#' && **l != '\0')
        dirty = TRUE;
    }
  /* No commit yet: no revision, as `git rev-parse --verify HEAD` says. */
  if (!oid || g_str_equal (oid, "(initial)"))
    return;
  *out_revision = g_strdup (oid);
  *out_dirty = dirty;
}
