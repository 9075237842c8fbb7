/* gen-error.h: the error domain of the gen library. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GEN_ERROR (gen_error_quark ())
GQuark gen_error_quark (void);

typedef enum {
  GEN_ERROR_FAILED,
  GEN_ERROR_INVALID_MANIFEST,  /* the manifest or a file it names is wrong */
  GEN_ERROR_INVALID_RELEASE,   /* the release tree or archive is unusable */
  GEN_ERROR_NOT_INITIALIZED,   /* the sysroot has no gen state: run gen init */
  GEN_ERROR_NO_GENERATION,     /* a generation number that does not exist */
  GEN_ERROR_BUSY,              /* another gen run holds the lock */
} GenError;

G_END_DECLS
