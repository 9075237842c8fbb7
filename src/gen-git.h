/* gen-git.h: where a manifest stands in git. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The commit checked out in the git repository holding @dir (NULL when @dir
 * is in none, or git is missing), and whether anything under @dir differs
 * from it, untracked files included. */
void gen_git_describe (const char *dir, char **out_revision, gboolean *out_dirty);

G_END_DECLS
