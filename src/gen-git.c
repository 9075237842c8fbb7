#include "gen-git.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct _GenGitQuery
{
  GPid pid;   /* 0: no git run (no repository, no git, or finished) */
  int out_fd; /* git's stdout, or -1 */
};

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
 * other line is a change under @dir, untracked files included.  git is
 * looked up once with g_find_program_in_path() rather than by
 * G_SPAWN_SEARCH_PATH, which tries an execve() in every PATH folder before
 * the right one. */
GenGitQuery *
gen_git_query_start (const char *dir)
{
  static char *git;
  GenGitQuery *q = g_new0 (GenGitQuery, 1);
  q->out_fd = -1;
  if (!in_git_tree (dir) || (!git && !(git = g_find_program_in_path ("git"))))
    return q;
  const char *argv[] = { git, "-C", dir, "status", "--porcelain=v2", "--branch", "--", ".", NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "GIT_OPTIONAL_LOCKS", "0", TRUE);
  /* Descriptors left open, so that GLib can use posix_spawn(): 1.3 ms in
   * the caller here against 4 ms for its fork, close-all and exec.  gen opens
   * its own files O_CLOEXEC; one it inherited without (a wrapper's flock fd)
   * is also held by git, for git's run only: the query is reaped (or stopped
   * and reaped) before gen goes on. */
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL
                      | G_SPAWN_LEAVE_DESCRIPTORS_OPEN;
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, envp, flags, NULL, NULL, &q->pid, NULL,
                                 &q->out_fd, NULL, NULL))
    {
      q->pid = 0;
      q->out_fd = -1;
    }
  return q;
}

/* Reaps git; TRUE when it exited with 0. */
static gboolean
reap (GenGitQuery *q)
{
  int status = 0;
  pid_t r;
  while ((r = waitpid (q->pid, &status, 0)) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (q->pid);
  q->pid = 0;
  return r > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

void
gen_git_query_finish (GenGitQuery *q, char **out_revision, gboolean *out_dirty)
{
  *out_revision = NULL;
  *out_dirty = FALSE;
  if (q->pid == 0)
    return;
  g_autoptr (GString) out = g_string_new (NULL);
  for (;;)
    {
      char buf[4096];
      ssize_t n = read (q->out_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (out, buf, n);
    }
  close (q->out_fd);
  q->out_fd = -1;
  if (!reap (q))
    return;
  g_auto (GStrv) lines = g_strsplit (out->str, "\n", -1);
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

void
gen_git_query_free (GenGitQuery *q)
{
  if (!q)
    return;
  if (q->out_fd >= 0)
    close (q->out_fd);
  if (q->pid > 0)
    {
      kill (q->pid, SIGTERM);
      reap (q);
    }
  g_free (q);
}
