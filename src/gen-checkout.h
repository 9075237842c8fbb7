/* gen-checkout.h: a release checked out as hardlinks, by libostree, on
 * several threads at once.
 *
 * ostree_repo_checkout_at() opens every file object (open, fstat, flistxattr,
 * close) before it links it, on one thread: about twice the work of
 * `cp -al`.  The calls are independent from one folder to the next, so the
 * tree is cut into parts (subtrees of at most a quarter of a thread's share
 * of the files and folders); one pass checks out the rest, the folders above
 * the parts, and the other threads check out parts, by subpath, largest
 * first, each as soon as that pass has made the folder above it (the pass
 * reaches it); once the pass is over its thread takes parts too.  The result
 * is the tree one ostree_repo_checkout_at() call makes, folder mtimes
 * included.  The weights come from the release's metadata when gen made it
 * (GEN_CHECKOUT_META_FOLDERS), else from reading its folders (the plan).
 */
#pragma once

#include <ostree.h>

G_BEGIN_DECLS

typedef struct
{
  guint threads;     /* at most this many (0: one per processor), at most 4 */
  guint min_entries; /* fewer files and folders: one call (0: 2,000) */
  guint out_parts;   /* set: the parts checked out beside the first pass (0: one call did it all) */
  gboolean out_recorded; /* set: the cut came from the release's GEN_CHECKOUT_META_FOLDERS */
} GenCheckoutOptions;

/* Commit metadata key: the folders that matter to cutting the release's
 * tree into parts (gen_parts_folder_matters()), in the order the plan
 * finds them, as GEN_CHECKOUT_FOLDERS_TYPE: each folder's name ("" for
 * the top), the index of the folder above it, its weight, and whether it
 * may be split.  With it, a checkout need not read every folder of the
 * release first (~15 ms for Debian minbase's 770), only those it splits,
 * to check the cut against the tree: a record that does not fit the tree
 * is left aside, as one that is not well formed is. */
#define GEN_CHECKOUT_META_FOLDERS "gen.folders"
#define GEN_CHECKOUT_FOLDERS_TYPE "a(sutb)"

/* The value of GEN_CHECKOUT_META_FOLDERS for the tree @root (as
 * ostree_repo_write_mtree() gives it), a new reference; read on the calling
 * thread alone, so @repo may be in a transaction. */
GVariant *gen_checkout_folders (OstreeRepo *repo, OstreeRepoFile *root, GCancellable *cancellable,
                                GError **error);

/* Checks out @commit as the new folder @dest (relative to @dfd) with
 * hardlinks, in user mode when @repo is not a bare repository; @options
 * may be NULL.  On failure @dest may be left half made. */
gboolean gen_checkout_at (OstreeRepo *repo, int dfd, const char *dest, const char *commit,
                          GenCheckoutOptions *options, GCancellable *cancellable, GError **error);

G_END_DECLS
