/* gen-parts.h: a tree of folders cut into parts that threads work on side
 * by side, for libostree calls that take one subtree at a time (the
 * checkout, gen-checkout.c, and the import of a folder, gen-import.c).
 *
 * Each folder has a weight (its cost, itself and all below it).  Under each
 * folder that is split (heavier than a quarter of one thread's share, and
 * splittable), every subtree that is not split itself is a part, unless it
 * is too light to be worth a call of its own.  One pass does what is left,
 * the folders above the parts; the parts go to the threads largest first,
 * so that they end together. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GEN_PARTS_MAX_THREADS 4

typedef struct
{
  char *path;     /* as the caller names it */
  guint parent;   /* index of the folder above (the top's is its own, 0) */
  guint64 weight; /* itself and everything below it */
  gboolean splittable;
  gboolean split; /* set by gen_parts_choose(): its content is parts and the first pass */
} GenPartsFolder;

/* A new array of GenPartsFolder, each to be added after the folder above it. */
GArray *gen_parts_folders_new (void);

/* The threads to use: @threads, or one per processor (0); at most GEN_PARTS_MAX_THREADS. */
guint gen_parts_threads (guint threads);

/* The parts for @threads threads (of GenPartsFolder *, pointing into
 * @folders, largest first); empty when the tree is lighter than @min_weight.
 * Marks the folders split. */
GPtrArray *gen_parts_choose (GArray *folders, guint threads, guint64 min_weight);

/* Whether gen_parts_choose() for 2 to GEN_PARTS_MAX_THREADS threads can
 * look at folder @i of @folders: the top, and every folder right below one
 * heavier than the part limit for GEN_PARTS_MAX_THREADS threads (its
 * lowest).  As no folder weighs less than one below it, the folders kept are
 * a tree of their own (the one above a kept folder is kept), which gives the
 * parts the whole tree gives. */
gboolean gen_parts_folder_matters (GArray *folders, guint i);

/* @parts' paths (borrowed from them), each to its part, for a first pass
 * to leave out. */
GHashTable *gen_parts_paths (GPtrArray *parts);

typedef struct _GenPartsRun GenPartsRun;

/* Work on one part; @thread_data is what the calling thread's begin gave. */
typedef gboolean (*GenPartsFunc) (gpointer user_data, gpointer thread_data,
                                  const GenPartsFolder *part, GError **error);

typedef struct
{
  /* Run by the calling thread while the others take parts (NULL: nothing);
   * a part that fails meanwhile does not stop it. */
  gboolean (*first) (gpointer user_data, GenPartsRun *run, GError **error);
  /* The parts wait for first: each is taken only once first has released
   * it (gen_parts_release(), say once it has made the folder above it), or
   * has returned.  Otherwise they are all taken from the start. */
  gboolean gated;
  /* Gives each thread its thread_data (NULL: the threads need none). */
  gpointer (*begin) (gpointer user_data, GError **error);
  GDestroyNotify end; /* frees a thread's thread_data */
  GenPartsFunc func;
} GenPartsWork;

/* From first, in a gated run: @part may be taken now. */
void gen_parts_release (GenPartsRun *run, GenPartsFolder *part);

/* Does @work on @parts on up to @threads threads, the calling one included.
 * Stops at the first error, which it returns. */
gboolean gen_parts_run (GPtrArray *parts, guint threads, const GenPartsWork *work,
                        gpointer user_data, GError **error);

G_END_DECLS
