/* gen-manifest.h: manifest v1, parsed and validated (docs/gen.manifest.5.md). */
#pragma once

#include <glib.h>

#include "gen-data.h"

G_BEGIN_DECLS

typedef enum {
  GEN_RELEASE_DIR,
  GEN_RELEASE_ARCHIVE,
  GEN_RELEASE_REF,
  GEN_RELEASE_PACKAGES,
} GenReleaseKind;

typedef enum {
  GEN_CONFIG_CONTENT,   /* inline text with {{var}} substitution */
  GEN_CONFIG_TEMPLATE,  /* a file in the manifest's folder, with substitution */
  GEN_CONFIG_SOURCE,    /* a file in the manifest's folder, copied as is */
  GEN_CONFIG_SYMLINK,   /* a symbolic link to value */
} GenConfigKind;

typedef struct {
  char *path;         /* absolute target under /etc, normalised */
  GenConfigKind kind;
  char *value;        /* the text, the resolved file path, or the link target */
  guint mode;         /* permission bits; 0 for symlinks */
} GenConfigFileSpec;

/* release.packages (docs/gen.manifest.5, PACKAGES): composed by gen-compose.c. */
typedef struct {
  char *url;        /* an http:// or https:// URL, or a resolved folder path; no trailing '/' */
  char *suite;      /* NULL for a flat repository (Packages at the root) */
  GStrv components; /* with a suite; never NULL */
} GenPackageRepo;

typedef struct {
  char *text;       /* as written: "myapp (>= 2.1)" */
  char *name;
  char *op;         /* NULL, or one of "<<", "<=", "=", ">=", ">>" */
  char *version;    /* NULL without op */
} GenPackageRequest;

typedef struct {
  GPtrArray *repos;    /* GenPackageRepo, in the manifest's order */
  GPtrArray *install;  /* GenPackageRequest */
  GStrv exclude;       /* package names; never NULL */
  char *architecture;  /* NULL: the architecture gen was built for */
  GStrv setuid;        /* absolute paths that keep setuid/setgid bits, sorted; never NULL */
} GenPackagesSpec;

/* remotes.NAME (docs/gen.manifest.5, REMOTES): an ostree remote that
 * release.ref "NAME:REF" pulls from (gen-pull.c). */
typedef struct {
  char *name;
  char *url;          /* http://, https:// or file:// (a folder, resolved) */
  gboolean gpg_verify; /* commits must carry a signature by a key in gpg_keys */
  char *gpg_keys;     /* resolved keyring file, or NULL when gpg_verify is FALSE */
} GenRemoteSpec;

typedef struct {
  char *path;             /* the manifest file as given */
  char *dir;              /* its folder, resolved; relative paths start here */
  GBytes *bytes;          /* the manifest's text, kept in every generation */
  char *os;
  GenReleaseKind release_kind;
  char *release_source;   /* resolved dir/archive path, or the ref; NULL for packages */
  char *release_remote;   /* release.ref "REMOTE:REF": REMOTE; else NULL */
  GenPackagesSpec *packages; /* GEN_RELEASE_PACKAGES only */
  char *release_version;  /* NULL unless the manifest sets one */
  GStrv kernel_args;      /* never NULL */
  GHashTable *vars;       /* name -> string */
  GPtrArray *files;       /* GenConfigFileSpec, sorted by path */
  GenDataDecl *release_data; /* release.data, or NULL */
  GStrv data_paths;       /* data.paths, sorted; never NULL */
  char *boot_loader;      /* boot.loader: "systemd-boot" (the default), "grub" or "extlinux" */
  guint boot_limit;       /* boot.limit: newest generations in the menu; 0 for all */
  GPtrArray *remotes;     /* GenRemoteSpec, sorted by name; never NULL */
} GenManifest;

void gen_manifest_free (GenManifest *manifest);

/* The remote @name the manifest declares, or NULL. */
const GenRemoteSpec *gen_manifest_find_remote (GenManifest *manifest, const char *name);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenManifest, gen_manifest_free)

/* Largest manifest accepted, in bytes. */
#define GEN_MANIFEST_MAX_SIZE (1024 * 1024)

/* Deepest nesting of arrays and objects accepted (a manifest needs 4). */
#define GEN_MANIFEST_MAX_DEPTH 32

/* Loads and validates the manifest at @path. Errors are GEN_ERROR_INVALID_MANIFEST
 * (or an I/O error) naming the offending key or path. Nothing is written. */
GenManifest *gen_manifest_load (const char *path, GError **error);

/* Same, for text already in memory; @dir is where relative paths resolve. */
GenManifest *gen_manifest_parse (const char *data, gsize len, const char *path, const char *dir,
                                 GError **error);

/* Parses a manifest kept in a generation (gen/generations/N/manifest.json),
 * whose release and template files may have moved since: the same checks,
 * but release.dir, release.archive, templates and sources are only resolved
 * against @dir, not opened. */
GenManifest *gen_manifest_parse_stored (const char *data, gsize len, const char *path,
                                        const char *dir, GError **error);

/* Checks an OS name: it names files and refs, so [a-z0-9][a-z0-9._-]*, at most 64. */
gboolean gen_os_name_is_valid (const char *name);

G_END_DECLS
