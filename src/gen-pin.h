/* gen-pin.h: pinned generations.
 *
 * A pinned generation stays in every boot menu whatever boot.limit says,
 * and `gen gc` never removes it.  The pins live in gen/pins.json
 * ({"format": 1, "pinned": [2, 5]}), replaced atomically under the lock
 * like gen/state.json.  gen-core: no store needed.
 */
#pragma once

#include "gen-sysroot.h"

G_BEGIN_DECLS

#define GEN_PINS_FILE "gen/pins.json"

/* The pinned generation numbers, ascending and 0-terminated; a missing
 * file means none.  NULL (and @error) when the file cannot be read. */
guint *gen_pins_load (GenSysroot *sysroot, GError **error);

/* Whether @number is in @pins (0-terminated, may be NULL). */
gboolean gen_pins_contains (const guint *pins, guint number);

/* Pins (@pinned TRUE) or unpins committed generation @number: writes
 * gen/pins.json (temporary file, fsync, rename, fsync of gen/), then the
 * boot menus.  Unpinning a number that is pinned but has no generation any
 * more is allowed; otherwise an unknown generation is GEN_ERROR_NO_GENERATION
 * and nothing is written.  @out_changed (may be NULL) is FALSE when the pin
 * already was as asked: then nothing is written.  Needs the lock. */
gboolean gen_pin (GenSysroot *sysroot, guint number, gboolean pinned, gboolean *out_changed,
                  GError **error);

G_END_DECLS
