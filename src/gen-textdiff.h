/* gen-textdiff.h: unified diffs of small text files (config overlays). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A unified diff (3 lines of context) from @old_text to @new_text, with
 * "--- @old_label" / "+++ @new_label" headers; "" when they are equal.
 * Either text may be NULL (the file is absent on that side). */
char *gen_text_diff (const char *old_text, const char *new_text, const char *old_label,
                     const char *new_label);

G_END_DECLS
