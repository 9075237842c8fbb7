/* fuzz-archive: importing a release archive (gen_store_import of a
 * manifest whose release.archive is the input) into a real ostree store,
 * as a dry run: the transaction is aborted after each input.
 *
 * Invariants: the import succeeds or sets one error; nothing is written
 * outside the store (the work folder and the sysroot hold what they held);
 * the store has no ref and no staging folder left. */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "gen-error.h"
#include "gen-store.h"
#include "gen-util.h"

static char *top;
static char *archive_path;
static GenSysroot *sysroot;
static GenStore *store;
static GenManifest *manifest;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The sorted names in @path, joined: a cheap picture of a folder. */
static char *
listing (const char *path)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  DIR *d = opendir (path);
  FUZZ_CHECK (d != NULL);
  struct dirent *de;
  while ((de = readdir (d)))
    g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static char *top_before, *sysroot_before, *gen_before;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  top = g_dir_make_tmp ("gen-fuzz-archive-XXXXXX", NULL);
  FUZZ_CHECK (top != NULL);
  g_autofree char *path = g_build_filename (top, "sysroot", NULL);
  g_mkdir_with_parents (path, 0755);
  g_autoptr (GError) error = NULL;
  FUZZ_CHECK (gen_store_init (path, "demo", NULL, &error));
  sysroot = gen_sysroot_open (path, &error);
  FUZZ_CHECK (sysroot != NULL);
  FUZZ_CHECK (gen_sysroot_lock (sysroot, FALSE, &error));
  store = gen_store_open (sysroot, NULL, &error);
  FUZZ_CHECK (store != NULL);
  archive_path = g_build_filename (top, "release.tar", NULL);
  fuzz_write (archive_path, "");
  const char *json = "{ \"os\": \"demo\", \"release\": { \"archive\": \"release.tar\" } }";
  manifest = gen_manifest_parse (json, strlen (json), "fuzz.json", top, &error);
  FUZZ_CHECK (manifest != NULL);
  top_before = listing (top);
  sysroot_before = listing (path);
  g_autofree char *gen = g_build_filename (path, "gen", NULL);
  gen_before = listing (gen);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  FUZZ_CHECK (g_file_set_contents (archive_path, (const char *) data, size, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (GenRelease) r = gen_store_import (store, manifest, FALSE, NULL, NULL, NULL, &error);
  if (r)
    {
      FUZZ_CHECK (error == NULL);
      FUZZ_CHECK (strlen (r->checksum) == 64);
      /* The kernel version names a folder in boot/ and goes into the entry's
       * "linux" line: one word of printable ASCII. */
      FUZZ_CHECK (r->kernel_version && *r->kernel_version);
      for (const char *p = r->kernel_version; *p; p++)
        FUZZ_CHECK (g_ascii_isgraph (*p) && *p != '/');
    }
  else
    fuzz_check_error (error);
  FUZZ_CHECK (gen_store_discard (store));

  g_autofree char *top_now = listing (top);
  g_autofree char *sysroot_now = listing (sysroot->path);
  g_autofree char *gen = g_build_filename (sysroot->path, "gen", NULL);
  g_autofree char *gen_now = listing (gen);
  FUZZ_CHECK (g_str_equal (top_now, top_before));
  FUZZ_CHECK (g_str_equal (sysroot_now, sysroot_before));
  FUZZ_CHECK (g_str_equal (gen_now, gen_before));
  g_autoptr (GHashTable) refs = NULL;
  FUZZ_CHECK (ostree_repo_list_refs (gen_store_get_repo (store), NULL, &refs, NULL, NULL));
  FUZZ_CHECK (g_hash_table_size (refs) == 0);
  g_autofree char *repo_tmp = g_build_filename (sysroot->path, "gen/repo/tmp", NULL);
  g_autofree char *tmp_now = listing (repo_tmp);
  FUZZ_CHECK (strstr (tmp_now, "staging-") == NULL);
  return 0;
}
