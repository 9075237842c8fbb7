/* gen-activate.h: moving the current and default generation (no store needed). */
#pragma once

#include "gen-sysroot.h"

G_BEGIN_DECLS

/* Makes generation @to (0: the newest one before the current) current and
 * default.  Needs the lock.  Returns the generation made current, 0 on error. */
guint gen_rollback (GenSysroot *sysroot, guint to, GError **error);

/* The same, refused when the target's release does not read the data's
 * schema (gen-data.h) unless @force; *@out_forced (may be NULL) gets the
 * risk --force took, or NULL. */
guint gen_rollback_full (GenSysroot *sysroot, guint to, gboolean force, char **out_forced,
                         GError **error);

/* Checks that generation @g still has what booting it needs: its release
 * checkout, its overlay and its kernel.  (Its boot entry is not needed: the
 * boot menus are rewritten from the generation records.) */
gboolean gen_generation_check_complete (GenSysroot *sysroot, GenGeneration *g, GError **error);

G_END_DECLS
