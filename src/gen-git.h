/* gen-git.h: where a manifest stands in git. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Finding out the commit checked out in the git repository holding @dir
 * (NULL when @dir is in none, or git is missing), and whether anything under
 * @dir differs from it, untracked files included.  git runs in the
 * background, so that its run (about 10 ms, most of it git's own start)
 * overlaps the caller's work; with GIT_OPTIONAL_LOCKS=0, so that it
 * writes nothing and a query freed unfinished stops it without leaving
 * .git/index.lock behind. */
typedef struct _GenGitQuery GenGitQuery;
GenGitQuery *gen_git_query_start (const char *dir);
/* Waits for @query's answer. */
void gen_git_query_finish (GenGitQuery *query, char **out_revision, gboolean *out_dirty);
/* Stops git if it still runs, and reaps it. */
void gen_git_query_free (GenGitQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenGitQuery, gen_git_query_free)

G_END_DECLS
