/* gen-compose-private.h: what the parts of the compose (gen-compose.c,
 * gen-compose-fetch.c, gen-compose-unpack.c) share. */
#pragma once

#include "gen-compose.h"

G_BEGIN_DECLS

/* Bump when a change to the unpack rules changes the tree the same packages
 * give: it is part of the compose input, so older commits are not reused. */
#define GEN_COMPOSE_RULES_VERSION 1

typedef struct _GenHttp GenHttp;

struct _GenCompose
{
  char *what; /* the manifest, for errors */
  char *arch;
  GStrv setuid;        /* sorted */
  char *version;       /* the release version, or NULL */
  GPtrArray *packages; /* GenComposePackage, sorted */
  char *input;
  GenHttp *http; /* NULL until the first download */
  int cache_dfd; /* gen/cache/debs, or -1 */
  char *tmpdir;  /* a dry run's downloads, or NULL */
  int tmp_dfd;
  guint fetched;
  guint64 fetched_bytes;
  guint64 size;
  GStrv scripts_skipped;
  GStrv setuid_stripped;
};

/* --- gen-compose-fetch.c --------------------------------------------------- */

/* Called as bytes arrive: @bytes so far of the current download. */
typedef void (*GenHttpProgress) (guint64 bytes, gpointer user_data);

GenHttp *gen_http_new (GError **error);
void gen_http_free (GenHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenHttp, gen_http_free)

/* GETs @url into @fd, feeding @sum (may be NULL).  A 404 is
 * G_IO_ERROR_NOT_FOUND; other failures name the URL. */
gboolean gen_http_get (GenHttp *http, const char *url, int fd, GChecksum *sum,
                       GenHttpProgress progress, gpointer user_data, GCancellable *cancellable,
                       GError **error);

/* Opens a repository file (a folder path or a URL) for reading, downloading
 * it into an anonymous memory file when it is a URL.  G_IO_ERROR_NOT_FOUND
 * when it does not exist. */
int gen_compose_open_location (GenCompose *c, const char *location, GCancellable *cancellable,
                               GError **error);

/* --- gen-compose-unpack.c -------------------------------------------------- */

/* "app 2.1-1 (all)" */
char *gen_compose_package_label (GenComposePackage *pkg);

G_END_DECLS
