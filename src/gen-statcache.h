/* gen-statcache.h: noticing that a release folder is unchanged without
 * reading its files, as git's index does.
 *
 * A digest over every entry's path and lstat() fields (type, mode, owner,
 * size, mtime and ctime in nanoseconds, inode, device) stands for the
 * folder; gen/cache/dirs/<key> maps the last digest to the commit it was
 * imported as.  Any write to a file changes its ctime, so an equal digest
 * means an equal tree.  Like git, an entry changed within the last two
 * seconds is "racy": its digest is not cached, since a write in the same
 * clock tick could go unseen.
 *
 * The folders are read by up to four threads (one per CPU); the digest
 * does not depend on which thread read what.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The digest of the tree at @path; *@out_racy tells whether it may be cached. */
char *gen_statcache_digest (const char *path, gboolean *out_racy, GError **error);
/* The same, of the folder open as @dfd (taken); @path names it in errors. */
char *gen_statcache_digest_fd (int dfd, const char *path, gboolean *out_racy, GError **error);

/* The commit the folder @key last imported as, if its digest was @digest; else NULL. */
char *gen_statcache_lookup (int sysroot_dfd, const char *key, const char *digest);

/* Records that the folder @key with @digest imported as @checksum (atomically). */
gboolean gen_statcache_store (int sysroot_dfd, const char *key, const char *digest,
                              const char *checksum, GError **error);

/* Removes the entries whose commit @exists says is gone from the store (gen
 * gc, after a prune); @removed (may be NULL) gets their paths.  With
 * @dry_run, only lists them. */
gboolean gen_statcache_prune (int sysroot_dfd, gboolean (*exists) (const char *checksum,
                                                                    gpointer user_data),
                              gpointer user_data, gboolean dry_run, GPtrArray *removed,
                              GError **error);

/* A cache key for importing @path (with whatever else changes the commit). */
char *gen_statcache_key (const char *path, const char *extra);

G_END_DECLS
