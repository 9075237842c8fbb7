/* gen-import.h: a folder written into the store by libostree, on several
 * threads at once.
 *
 * ostree_repo_write_dfd_to_mtree() reads, checksums and copies every file on
 * one thread: CPU work, a few times that of the disk's.  libostree lets
 * several threads write objects in one transaction, so the folder is cut
 * into parts (gen-parts.h), weighed by entries and bytes; while one pass
 * writes the rest, the folders above the parts, the threads write each part
 * into a tree of its own, by the same call; then the parts' trees are put in
 * place.  The result is the tree one call makes, object for object, so the
 * commit is the same too.
 */
#pragma once

#include <ostree.h>

G_BEGIN_DECLS

typedef struct
{
  guint threads;      /* at most this many (0: one per processor), at most 4 */
  guint64 min_weight; /* a lighter tree takes one call (0: 2,000 files' worth) */
  guint out_parts;    /* set: the parts written beside the first pass (0: one call did it all) */
} GenImportOptions;

/* Writes the folder @path into @mtree, in the transaction open on @repo,
 * with a modifier of @flags and @filter (may be NULL), as
 * ostree_repo_write_dfd_to_mtree() does.  @filter is asked about every path
 * that call asks about, by the same name, one call at a time, though not in
 * the same order; below a folder it leaves out, it may also be asked about
 * paths that call would not reach (their objects are written, but not put
 * in the tree).  @options may be NULL. */
gboolean gen_import_dir (OstreeRepo *repo, const char *path, OstreeMutableTree *mtree,
                         OstreeRepoCommitModifierFlags flags, OstreeRepoCommitFilter filter,
                         gpointer filter_data, GenImportOptions *options, GCancellable *cancellable,
                         GError **error);

G_END_DECLS
