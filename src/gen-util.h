/* gen-util.h: small file-system and error helpers shared by the library.
 *
 * Every path argument is relative to a directory fd, so a --sysroot never
 * leaks into a path built by string concatenation.
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

G_BEGIN_DECLS

/* Sets @error from errno, prefixed with the formatted message, and returns FALSE. */
gboolean gen_throw_errno (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* Closes an fd on scope exit; -1 is ignored. (GLib 2.74 has no g_autofd.) */
void gen_close_fd (int *fd);
#define gen_autofd __attribute__ ((cleanup (gen_close_fd))) int

int gen_open_dir_at (int dfd, const char *path, GError **error);
/* The folder @path (relative, or "/usr/share" as ostree names paths from a
 * top) below @dfd (not AT_FDCWD), opened one name at a time without
 * following symlinks, so that no path is too long; "", "." or "/" is @dfd
 * again, as a new fd.  Opened O_PATH (no read permission needed): to use
 * as the fd that *at() calls start from. */
int gen_open_dir_below (int dfd, const char *path, GError **error);
gboolean gen_mkdir_p_at (int dfd, const char *path, mode_t mode, GError **error);
gboolean gen_rm_rf_at (int dfd, const char *path, GError **error);
gboolean gen_fsync_dir_at (int dfd, const char *path, GError **error);

/* Reads a whole regular file (NUL-terminated); NULL on failure. @len may be NULL. */
char *gen_read_fd (int fd, const char *name, gsize *len, GError **error);
char *gen_read_file_at (int dfd, const char *path, gsize *len, GError **error);

/* Writes @data to @path atomically and durably: a temporary file in the same
 * folder, fsync, rename over @path, fsync of the folder. */
gboolean gen_write_file_at (int dfd, const char *path, const void *data, gsize len,
                            mode_t mode, GError **error);

/* Writes @parts, one after the other, to @path atomically (a temporary file
 * renamed over it) but not durably: no fsync.  For caches that check
 * themselves when read (gen/generations.idx): after a crash one is whole,
 * old or missing, or it fails its own check, and is rebuilt; two fsyncs fewer
 * for every run.  In parts, so that a caller need not copy what it already
 * holds (a large copy costs page faults). */
gboolean gen_write_cache_file_at (int dfd, const char *path, const struct iovec *parts,
                                  guint n_parts, mode_t mode, GError **error);

/* Writes @data to a new file (O_EXCL) and fsyncs it; no rename.  For files
 * inside a folder that is itself published by one rename. */
gboolean gen_write_new_file_at (int dfd, const char *path, const void *data, gsize len,
                                mode_t mode, GError **error);

/* Copies a regular file's bytes to a new file @dst (O_EXCL), fsync'd. */
gboolean gen_copy_file_at (int src_dfd, const char *src, int dst_dfd, const char *dst,
                           mode_t mode, GError **error);

/* Atomically replaces @path with a symlink to @target (tmp link + rename +
 * fsync of the folder). */
gboolean gen_symlink_replace_at (int dfd, const char *target, const char *path, GError **error);

/* Renames and fsyncs the folder holding @new_path. */
gboolean gen_rename_at (int dfd, const char *old_path, const char *new_path, GError **error);

gboolean gen_exists_at (int dfd, const char *path);

/* Nanoseconds since the epoch: of a stat time, and of now (CLOCK_REALTIME,
 * the clock file times come from).  A time before 1970 wraps (two's
 * complement): still one value per time, for comparing and hashing. */
guint64 gen_ns (const struct timespec *t);
guint64 gen_now_ns (void);
/* Whether stat data taken at @at_ns are racy: the file changed (@mtime_ns,
 * or @ctime_ns: an edit whose mtime was put back) within GEN_RACY_SECONDS
 * before, so that a change in the same clock tick could leave them as they
 * are.  Racy stat data cannot stand for what they describe. */
#define GEN_RACY_SECONDS 2
gboolean gen_racy (guint64 mtime_ns, guint64 ctime_ns, guint64 at_ns);
/* gen_racy() of @st's mtime and ctime. */
gboolean gen_stat_racy (const struct stat *st, guint64 at_ns);

/* TRUE for ENOSPC, and for the store refusing to fill its file system
 * (ostree's min-free-space-percent, reported as a plain failure). */
gboolean gen_error_is_no_space (const GError *error);

/* Moves @src (if any) into @dest, first naming a full disk "no space left
 * in '@where': …" (it shows up deep in a step, e.g. "…: Writing content
 * object: min-free-space-percent '3%' would be exceeded"). */
void gen_propagate_no_space (GError **dest, GError *src, const char *where);

/* @text with control characters written as \n, \t or \xHH, so that a
 * message quoting input stays one line. */
char *gen_escape_controls (const char *text);

/* TRUE when @s holds a control character (below 0x20, or DEL). */
gboolean gen_has_control (const char *s);

/* TRUE when @s (may be NULL) is 64 lowercase hex digits, as a release
 * (commit) checksum is. */
gboolean gen_is_checksum (const char *s);

/* "2, 4, 7" for an array of guint. */
char *gen_uint_array_string (GArray *numbers);

/* "2026-11-28T01:20:11Z" for now, or for @unix_time. */
char *gen_iso8601_now (void);

G_END_DECLS
