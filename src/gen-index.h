/* gen-index.h: gen/generations.idx, a cache of what rollback, list and the
 * boot menus need from every generation, so that a run does not read every
 * generation.json nor every boot entry.
 *
 * The index is derived data: a run never trusts it blindly and losing it, or
 * a crash at any point while it is written, only costs time.
 *   - Generations: each summary is kept with the inode number of its folder
 *     gen/generations/N.  A run lists that folder anyway (readdir gives the
 *     inode numbers for free) and reads the record of every committed folder
 *     the index does not hold with the same inode; summaries of folders that
 *     are gone are dropped.  Records are never rewritten once published (by a
 *     rename of the whole folder), so a folder that kept its inode kept its record.
 *   - Boot menu files: each is kept with its inode, size, mtime and ctime and
 *     the SHA-256 of its text, as git's index keeps a file's stat data.  A file
 *     whose stat data differ is read again.  A file changed within the last
 *     GEN_INDEX_RACY_SECONDS when it was noted is "racy" (a later change in
 *     the same clock tick could keep the stat data) and is not kept.
 *   - The whole file carries the SHA-256 of its body: a file that does not
 *     match, of another format or unreadable is ignored (and rewritten).
 * The file is written atomically (temporary file, fsync, rename, fsync of gen/)
 * by gen_sysroot_cleanup(), i.e. before a run's commit, and only when it changed.
 */
#pragma once

#include <glib.h>

#include "gen-generation.h"

G_BEGIN_DECLS

#define GEN_INDEX_FILE "gen/generations.idx"
#define GEN_INDEX_RACY_SECONDS 2

typedef struct _GenIndex GenIndex;

/* Reads @path under @dfd; a missing, damaged or foreign file gives an empty
 * index (gen_index_was_valid() tells which).  Never fails. */
GenIndex *gen_index_load (int dfd, const char *path);
void gen_index_free (GenIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenIndex, gen_index_free)

/* Whether the file existed, matched its checksum and had this format. */
gboolean gen_index_was_valid (GenIndex *index);
/* Whether the index learnt or dropped something since it was loaded or saved. */
gboolean gen_index_is_dirty (GenIndex *index);

/* Writes the index to @path under @dfd atomically. */
gboolean gen_index_save (GenIndex *index, int dfd, const char *path, GError **error);

/* The summary of generation @number kept for a folder with inode @ino, or
 * NULL.  Borrowed: valid as long as @index. */
GenGeneration *gen_index_lookup (GenIndex *index, guint number, guint64 ino);

/* Keeps the summary of @g (its number, date, os, release, kernel and boot
 * settings; not its manifest nor its data) for a folder with inode @ino.
 * Returns the kept summary (borrowed, valid as long as @index). */
GenGeneration *gen_index_put (GenIndex *index, guint64 ino, GenGeneration *g);

/* Drops the summaries of numbers not in @present (a set of GUINT_TO_POINTER). */
void gen_index_retain (GenIndex *index, GHashTable *present);

/* The numbers the index holds, ascending. */
GArray *gen_index_numbers (GenIndex *index);

/* TRUE when the file @path (under @dfd) is known to hold @text: its stat
 * data match what was noted, or it was checked by this process. */
gboolean gen_index_file_holds (GenIndex *index, int dfd, const char *path, const char *text);

/* Notes that the file @path now holds @text (just written or compared). */
void gen_index_note_file (GenIndex *index, int dfd, const char *path, const char *text);

/* Forgets @path (removed). */
void gen_index_forget_file (GenIndex *index, const char *path);

G_END_DECLS
