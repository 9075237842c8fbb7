/* gen-generation.h: one generation's record, as kept in
 * gen/generations/N/generation.json (docs/architecture.md). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _GenDataDecl GenDataDecl; /* gen-data.h */

typedef struct {
  guint number;
  char *date;               /* ISO 8601, UTC */
  char *os;
  char *release_checksum;   /* the ostree commit */
  char *release_version;    /* NULL when neither the tree nor the manifest names one */
  guint release_packages;   /* packages of a release composed from packages; 0 otherwise */
  char *kernel_version;     /* the <kver> of usr/lib/modules/<kver>/vmlinuz */
  char *kernel_dir;         /* folder under DIR/boot holding vmlinuz (and initrd.img) */
  gboolean has_initrd;
  GStrv kernel_args;        /* the manifest's kernel.args */
  char *manifest_path;      /* absolute */
  char *manifest_revision;  /* git commit of the manifest's repository, or NULL */
  gboolean manifest_dirty;
  char *config_digest;      /* gen_render_digest() of the overlay */
  GenDataDecl *data;        /* the release's data schema; never NULL */
  GStrv data_paths;         /* the manifest's data.paths; never NULL */
  char *boot_loader;        /* the manifest's boot.loader ("systemd-boot" when it names none) */
  guint boot_limit;         /* the manifest's boot.limit, 0 for no limit */
} GenGeneration;

GenGeneration *gen_generation_new (void);
void gen_generation_free (GenGeneration *gen);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenGeneration, gen_generation_free)

GenGeneration *gen_generation_copy (GenGeneration *gen);

/* The record as a JSON object (the stored form; also the base of `gen list --json`). */
JsonNode *gen_generation_to_json (GenGeneration *gen);
GenGeneration *gen_generation_from_json (JsonNode *node, GError **error);
/* gen_generation_to_json() as compact text: one line, "data" its last
 * member (what `gen list --json` extends). */
char *gen_generation_json_text (GenGeneration *gen);

/* The full kernel command line gen writes for this generation: the manifest's
 * arguments, then what the boot hook needs to find the generation. */
char *gen_generation_kernel_cmdline (GenGeneration *gen);

/* TRUE when both name the same boot loader and menu limit. */
gboolean gen_generation_boot_equal (GenGeneration *a, GenGeneration *b);

/* "2.0" or, without a version, the first 10 characters of the checksum. */
const char *gen_generation_release_label (GenGeneration *gen, char buf[static 11]);

G_END_DECLS
