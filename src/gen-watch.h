/* gen-watch.h: a watcher that knows a release folder unchanged without a
 * walk, as git's fsmonitor does for its index.
 *
 * The stat cache (gen-statcache.h) must lstat every entry of a "dir"
 * release to know it unchanged: ~3 µs an entry, so 300 ms for 100,000
 * files.  `gen switch --watch` leaves a process, gen-watch, that puts an
 * inotify watch on every folder of the release, then walks it once for the
 * stat digest, and answers later switches with that digest for as long as
 * nothing has happened in the tree.  Any event (a write, a close after
 * writing, an attribute change, a name created, removed or moved), a mount
 * inside the folder, or a lost event ends it; the next switch then walks.
 *
 * What it answers is what a walk would give: the watches are set before
 * the walk, each folder's before its entries are read, so any change after
 * the walk read an entry is an event; and before answering it reads every
 * event queued, which the kernel queues before write() returns.  The client
 * also checks that the folder's path still leads to the folder watched, and
 * that it sees the tree through the watcher's mount namespace.
 *
 * Two changes make no event: a write through a shared writable mapping,
 * until the mapping and the file are closed, and a file's flags (chattr),
 * which gen does not import.  gen-switch(1) says so.
 *
 * The watcher listens on <sysroot>/gen/watch/<key>.sock (a folder only its
 * owner can enter), holds <key>.lock while it lives, and answers only a
 * client of its own user; a client trusts only a watcher of its own user.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The stat digest of @folder, as gen_statcache_digest() would give it,
 * from a watcher of the sysroot @sysroot_dfd that saw nothing change since;
 * NULL when there is none (no watcher, a change, any doubt). */
char *gen_watch_digest (int sysroot_dfd, const char *folder, gboolean *out_racy);

/* gen_watch_digest(), else a walk (gen_statcache_digest()). */
char *gen_watch_or_walk (int sysroot_dfd, const char *folder, gboolean *out_racy,
                         GError **error);

/* Stops the sysroot's watchers, except @keep's (may be NULL: all). */
void gen_watch_stop (int sysroot_dfd, const char *keep);

/* The folders the sysroot's watchers watch (paths; sorted by key). */
GPtrArray *gen_watch_list (int sysroot_dfd);

/* Stops the watcher of @folder, if one runs. */
void gen_watch_stop_folder (int sysroot_dfd, const char *folder);

/* Watches @folder for the sysroot @sysroot_dfd until it changes or a
 * client says stop (gen-watch's work).  Returns TRUE at once when another
 * watcher has it.  *@report_fd (may be NULL), when the watches are set or
 * another watcher has the folder, gets "ok\n" and is closed (-1); on a
 * failure before that it is left open. */
gboolean gen_watch_serve (int sysroot_dfd, const char *folder, int *report_fd, GError **error);

G_END_DECLS
