/* gen-cli-diff.h: printing a GenDiff (store commands only: it needs libostree's types). */
#pragma once

#include "gen-diff.h"

G_BEGIN_DECLS

/* Prints what changed, as `gen diff` does: human (colour on a terminal) or JSON. */
void gen_cli_print_diff (GenDiff *diff, gboolean json, gboolean stat_only);

G_END_DECLS
