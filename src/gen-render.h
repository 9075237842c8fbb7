/* gen-render.h: turns a manifest's config section into the files of an overlay. */
#pragma once

#include "gen-manifest.h"

G_BEGIN_DECLS

typedef struct {
  char *path;      /* absolute target, "/etc/…" */
  gboolean is_symlink;
  GBytes *content; /* file bytes; NULL for a symlink */
  char *target;    /* link target; NULL for a file */
  guint mode;
} GenRenderedFile;

/* Largest template or source file accepted, in bytes. */
#define GEN_CONFIG_FILE_MAX_SIZE (16 * 1024 * 1024)

/* Replaces every {{name}} (spaces inside the braces allowed) with its
 * variable.  An undefined variable or an unclosed "{{" is an error naming
 * @what. */
char *gen_render_substitute (const char *text, GHashTable *vars, const char *what, GError **error);

/* Renders every config file of @manifest, sorted by path.  Reads templates
 * and sources; writes nothing. */
GPtrArray *gen_render_config (GenManifest *manifest, GError **error);

/* A SHA-256 over paths, kinds, modes and contents: equal digests mean equal overlays. */
char *gen_render_digest (GPtrArray *files);

/* Writes the overlay below @dir (relative to @dfd), which must not exist:
 * "/etc/app/app.conf" lands at "@dir/app/app.conf".  Every file is fsync'd;
 * the caller publishes @dir with one rename. */
gboolean gen_render_write (GPtrArray *files, int dfd, const char *dir, GError **error);

/* Reads an overlay written by gen_render_write back into rendered files. */
GPtrArray *gen_render_read (int dfd, const char *dir, GError **error);

/* The overlay of generation @number: gen/generations/N/etc under the sysroot. */
GPtrArray *gen_render_read_generation (int sysroot_dfd, guint number, GError **error);

typedef enum {
  GEN_OVERLAY_ADDED = '+',
  GEN_OVERLAY_REMOVED = '-',
  GEN_OVERLAY_MODIFIED = '~',
} GenOverlayChangeKind;

/* One path that differs between two overlays. */
typedef struct {
  GenOverlayChangeKind kind;
  char *path;
  char *diff;          /* unified diff of the contents; "" when only the mode or link changed;
                          NULL for binary contents or symlinks */
  guint old_mode, new_mode;        /* 0 where absent or a symlink */
  char *old_target, *new_target;   /* symlink targets, NULL where not a symlink */
} GenOverlayChange;

void gen_overlay_change_free (GenOverlayChange *change);

/* Compares two overlays (both sorted by path, as gen_render_config and
 * gen_render_read return them): every path added, removed or changed, with
 * a unified diff for text files. */
GPtrArray *gen_render_compare (GPtrArray *old_files, GPtrArray *new_files);

G_END_DECLS
