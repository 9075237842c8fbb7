/* gen-compose.h: a release composed from Debian packages (release.packages).
 *
 * Three steps, all before the store's transaction is committed:
 *
 *   resolve  read each repository's Packages index into libsolv (libsolvext's
 *            repo_add_debpackages) and solve the install set;
 *   fetch    make every chosen .deb available and check it against the
 *            index's SHA256: from a folder repository, from the download
 *            cache gen/cache/debs/<sha256>.deb, or downloaded (libcurl);
 *   unpack   stream each .deb (ar, then data.tar.*) through libarchive
 *            straight into an ostree mutable tree, under the rules of
 *            gen.manifest(5), PACKAGES.
 *
 * The same manifest and the same packages always give the same tree: the
 * packages are unpacked in name order, owners are root, there are no
 * timestamps and no xattrs.  docs/architecture.md describes the cache.
 */
#pragma once

#include <gio/gio.h>
#include <ostree.h>

#include "gen-manifest.h"
#include "gen-store.h"

G_BEGIN_DECLS

/* The download cache, relative to the sysroot: <sha256>.deb files. */
#define GEN_COMPOSE_CACHE_DIR "gen/cache/debs"

/* Where the composed tree records its package list (read by gen diff). */
#define GEN_COMPOSE_PACKAGES_FILE "usr/share/gen/packages.json"

/* Commit metadata of a composed release. */
#define GEN_COMPOSE_META_PACKAGES "gen.packages"                /* u: how many */
#define GEN_COMPOSE_META_SCRIPTS "gen.packages.scripts-skipped" /* as: package names */
#define GEN_COMPOSE_META_SETUID "gen.packages.setuid-stripped"  /* as: paths */
#define GEN_COMPOSE_META_INPUT "gen.compose.input"              /* s: see gen_compose_get_input */

typedef struct
{
  char *name;
  char *version;
  char *arch;
  char *sha256; /* from the index, lower-case hex */
  char *url;    /* http(s) URL of the .deb; NULL in a folder repository */
  int dfd;      /* with @file, where the verified .deb is (after fetch) */
  char *file;
  GStrv scripts; /* maintainer scripts it ships that gen did not run (after unpack) */
} GenComposePackage;

typedef struct _GenCompose GenCompose;
void gen_compose_free (GenCompose *compose);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenCompose, gen_compose_free)

/* Reads the indexes of @spec's repositories and solves its install set.
 * An unsatisfiable set is GEN_ERROR_INVALID_MANIFEST with libsolv's
 * description of each problem, naming the requests involved.  @what names
 * the manifest in errors.  Writes nothing. */
GenCompose *gen_compose_resolve (GenPackagesSpec *spec, const char *release_version,
                                 const char *what, GenProgressFunc progress, gpointer user_data,
                                 GCancellable *cancellable, GError **error);

/* The chosen packages (GenComposePackage), sorted by name and architecture. */
GPtrArray *gen_compose_get_packages (GenCompose *compose);

/* A SHA-256 over everything the composed tree depends on: gen's compose
 * rules version, the architecture, the setuid list, the release version and
 * each package's name, version, architecture and SHA256. */
const char *gen_compose_get_input (GenCompose *compose);

/* Makes every package available and verified.  Downloads go to the cache in
 * @sysroot_dfd, or with @keep FALSE (a dry run) to a temporary folder
 * outside the sysroot, removed by gen_compose_free().  A cached file that
 * does not match its checksum is fetched again. */
gboolean gen_compose_fetch (GenCompose *compose, int sysroot_dfd, gboolean keep,
                            GenProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                            GError **error);

/* Packages downloaded by gen_compose_fetch(), and their bytes. */
guint gen_compose_get_fetched (GenCompose *compose, guint64 *out_bytes);

/* Unpacks every package into @root (empty), in an open transaction of @repo,
 * then adds the /usr merge links, the kernel link and the package list. */
gboolean gen_compose_unpack (GenCompose *compose, OstreeRepo *repo, OstreeMutableTree *root,
                             GenProgressFunc progress, gpointer user_data,
                             GCancellable *cancellable, GError **error);

/* Bytes of regular files in the composed tree (after unpack). */
guint64 gen_compose_get_size (GenCompose *compose);

/* Names of the packages whose maintainer scripts were not run, sorted (after unpack). */
GStrv gen_compose_get_scripts_skipped (GenCompose *compose);

/* Paths whose setuid/setgid bits were removed, sorted (after unpack). */
GStrv gen_compose_get_setuid_stripped (GenCompose *compose);

/* Adds the GEN_COMPOSE_META_* keys to a commit's metadata (after unpack). */
void gen_compose_add_metadata (GenCompose *compose, GVariantBuilder *builder);

/* A release commit in @repo already composed from the same input (metadata
 * GEN_COMPOSE_META_INPUT), among the refs @os/release and gen/generation/N;
 * NULL if none. */
char *gen_compose_find_commit (GenCompose *compose, OstreeRepo *repo, const char *os,
                               GCancellable *cancellable);

/* The Debian architecture gen was built for ("amd64"), or NULL. */
const char *gen_compose_native_arch (void);

G_END_DECLS
