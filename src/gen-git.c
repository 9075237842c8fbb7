#include "gen-git.h"

static char *
run_git (const char *dir, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "git");
  g_ptr_array_add (argv, (char *) "-C");
  g_ptr_array_add (argv, (char *) dir);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL;
  gint status;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

void
gen_git_describe (const char *dir, char **out_revision, gboolean *out_dirty)
{
  static const char *const rev_args[] = { "rev-parse", "--verify", "-q", "HEAD", NULL };
  static const char *const status_args[] = { "status", "--porcelain", "--", ".", NULL };
  *out_revision = NULL;
  *out_dirty = FALSE;
  g_autofree char *rev = run_git (dir, rev_args);
  if (!rev)
    return;
  *out_revision = g_strdup (g_strstrip (rev));
  g_autofree char *status = run_git (dir, status_args);
  *out_dirty = status != NULL && *g_strstrip (status) != '\0';
}
