/* gen-index.h: gen/generations.idx, a cache of what rollback, list and the
 * boot menus need from every generation, so that a run reads neither every
 * generation.json nor every boot entry, and, when nothing changed, does not
 * even list their folders.
 *
 * The index is derived data: a run never trusts it blindly, and losing it, or
 * a crash at any point while it is written, only costs time.
 *   - Generations: each record is kept with the inode number of its folder
 *     gen/generations/N.  Records are never rewritten once published (by a
 *     rename of the whole folder), so a folder that kept its inode kept its
 *     record.  When the folder gen/generations is not known unchanged (below),
 *     a run lists it (readdir gives the inode numbers for free), reads the
 *     record of every committed folder the index lacks or holds with another
 *     inode, and drops the records of folders that are gone.
 *   - Folders (gen/generations, boot/loader/entries, gen/deploy, boot/<os>):
 *     a run that checked one records its inode, mtime, ctime and link count,
 *     as git's index records a file's stat data; a later run trusts what was
 *     checked while these are the same.  Racy (gen_racy(): the folder had
 *     changed within GEN_RACY_SECONDS before its stat data were taken, and a
 *     change in the same clock tick would leave them as they were): the
 *     record also keeps a digest of its listing, and is trusted only
 *     while the folder lists the same names and inodes: a run right after a
 *     switch lists the two folders the switch changed rather than look at
 *     every entry.
 *     The first run that finds the listing the same once the window has
 *     passed keeps the record on its stat data alone (it settles).
 *   - Boot menu files: each is kept with its inode, size, mtime, ctime and the
 *     SHA-256 of its text; a file whose stat data differ is read again.  A
 *     file noted while racy is not kept (the next run reads it again).
 *   - The file carries CRC-32s of its parts: a file that does not match, of
 *     another format or unreadable is ignored (and rewritten).
 * The file is replaced by a rename, without fsync (after a crash it is
 * current, older, or refused), by gen_sysroot_commit_state() after a run's
 * commit and menu sync, and only when it changed; at that time every folder
 * record is checked again and dropped if the folder changed since it was
 * recorded.
 */
#pragma once

#include <sys/stat.h>

#include <glib.h>

#include "gen-generation.h"

G_BEGIN_DECLS

#define GEN_INDEX_FILE "gen/generations.idx"

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

/* The `last` of gen/state.json the generations were listed for. */
guint gen_index_last (GenIndex *index);
void gen_index_set_last (GenIndex *index, guint last);

/* The numbers of the generations held, ascending (borrowed; @out_len set). */
const guint *gen_index_numbers (GenIndex *index, guint *out_len);

/* The record of generation @number (borrowed, valid as long as @index),
 * or NULL.  With @ino non-zero, only one kept for a folder of that inode. */
GenGeneration *gen_index_lookup (GenIndex *index, guint number, guint64 ino);

/* The record of generation @number as gen_generation_json_text() gives it
 * (borrowed, valid as long as @index), without decoding the record, or
 * NULL; *@out_reads whether its release reads data schema @schema. */
const char *gen_index_lookup_json (GenIndex *index, guint number, guint schema,
                                   gboolean *out_reads);

/* The release checksum and kernel folder (NULL when none) of generation
 * @number (borrowed, valid as long as @index), without decoding its record;
 * FALSE when it is not held. */
gboolean gen_index_lookup_deploy (GenIndex *index, guint number, const char **out_checksum,
                                  const char **out_kernel_dir);

/* The inode of generation @number's folder as kept, or 0. */
guint64 gen_index_folder_ino (GenIndex *index, guint number);

/* Keeps a copy of the record @g for a folder with inode @ino.  Returns the
 * copy (borrowed, valid as long as @index). */
GenGeneration *gen_index_put (GenIndex *index, guint64 ino, GenGeneration *g);

/* Drops the records of numbers not in @present (a set of GUINT_TO_POINTER). */
void gen_index_retain (GenIndex *index, GHashTable *present);

/* A folder as it was at one moment: its stat data, when they were taken,
 * and, when the folder had changed in the GEN_RACY_SECONDS before
 * (so that a change in the same clock tick would leave them as they are),
 * a digest of its listing (names and inodes, in the order read). */
typedef struct
{
  struct stat st;
  guint64 at_ns;
  gboolean listed;
  guint8 listing[32];
} GenDirStamp;

/* Takes @path's stamp (under @dfd); FALSE, with errno, when it cannot. */
gboolean gen_index_dir_stamp (int dfd, const char *path, GenDirStamp *out);
/* Records that what @name stands for was checked when folder @path (under
 * the sysroot) was as @stamp says (taken before the check). */
void gen_index_record_dir (GenIndex *index, const char *name, const char *path,
                           const GenDirStamp *stamp);
/* TRUE when @name was recorded and its folder still has the stat data
 * recorded; when those were racy, also the same listing. */
gboolean gen_index_dir_trusted (GenIndex *index, int dfd, const char *name);
/* Forgets the record @name. */
void gen_index_forget_dir (GenIndex *index, const char *name);

/* The digest of the boot menu last written (32 bytes), or NULL. */
const guint8 *gen_index_menu_key (GenIndex *index);
void gen_index_set_menu_key (GenIndex *index, const guint8 *key);

#define GEN_INDEX_FROM_LEN 16

/* TRUE when the file @path (under @dfd) is known to hold @text: its stat
 * data match what was noted, or it was checked by this process. */
gboolean gen_index_file_holds (GenIndex *index, int dfd, const char *path, const char *text);

/* Notes that the file @path now holds @text (just written or compared),
 * made from @from (GEN_INDEX_FROM_LEN bytes the writer chooses; may be NULL). */
void gen_index_note_file (GenIndex *index, int dfd, const char *path, const char *text,
                          const guint8 *from);

/* TRUE when the file @path is as noted, and was noted as made from @from:
 * then it holds what the same inputs make, and neither the text nor the
 * file need be read or made. */
gboolean gen_index_file_made_from (GenIndex *index, int dfd, const char *path,
                                   const guint8 *from);

/* Forgets @path (removed). */
void gen_index_forget_file (GenIndex *index, const char *path);

G_END_DECLS
