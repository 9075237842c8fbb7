/* gen-switch.h: turning a manifest into a generation, and activating it. */
#pragma once

#include "gen-data.h"
#include "gen-diff.h"
#include "gen-store.h"
#include "gen-switch-core.h"

G_BEGIN_DECLS

/* GenSwitchFlags and GenSwitchResult are in gen-switch-core.h. */

/* Needs the sysroot's lock. */
GenSwitchResult *gen_switch (GenSysroot *sysroot, GenManifest *manifest, GenSwitchFlags flags,
                             GenProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, GError **error);

G_END_DECLS
