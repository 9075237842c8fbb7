/* fuzz-render: config rendering.  A manifest that parses is rendered
 * (gen_render_config), written as an overlay (gen_render_write), read back
 * (gen_render_read) and compared with a fixed previous overlay
 * (gen_render_compare, which diffs text).
 *
 * Invariants: the overlay read back has the same digest as what was
 * rendered and compares equal to it; the comparison with the previous
 * overlay lists each path once, in order; rendering errors are one line. */
#include <fcntl.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "gen-error.h"
#include "gen-render.h"
#include "gen-util.h"

static char *dir;
static int work_dfd = -1;
static GPtrArray *previous;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dir = fuzz_manifest_dir ();
  g_autofree char *work = g_build_filename (dir, "..", "work", NULL);
  g_mkdir_with_parents (work, 0755);
  work_dfd = open (work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK (work_dfd >= 0);
  /* The previous overlay: what the demo's generation 1 holds. */
  const char *prev_json = "{ \"os\": \"demo\", \"release\": { \"ref\": \"demo/release\" },"
                          "  \"config\": { \"vars\": { \"hostname\": \"edge-01\", \"port\": 8080 },"
                          "    \"files\": {"
                          "      \"/etc/hostname\": { \"content\": \"{{hostname}}\\n\" },"
                          "      \"/etc/app/app.conf\": { \"content\": \"a\\nb\\nport={{port}}\\nc\\nd\\n\", \"mode\": \"0640\" },"
                          "      \"/etc/motd\": { \"content\": \"hello\\n\\n\\nworld\\n\" },"
                          "      \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } } }";
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_parse (prev_json, strlen (prev_json), "prev.json", dir, &error);
  FUZZ_CHECK (m != NULL);
  previous = gen_render_config (m, &error);
  FUZZ_CHECK (previous != NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_parse ((const char *) data, size, "fuzz.json", dir, &error);
  if (!m)
    return 0;
  g_autoptr (GPtrArray) files = gen_render_config (m, &error);
  if (!files)
    {
      fuzz_check_error (error);
      return 0;
    }
  FUZZ_CHECK (files->len == m->files->len);
  g_autofree char *digest = gen_render_digest (files);

  FUZZ_CHECK (gen_rm_rf_at (work_dfd, "etc", NULL));
  if (!gen_render_write (files, work_dfd, "etc", &error))
    {
      /* Only the file system may refuse (a name too long for it). */
      fuzz_check_error (error);
      FUZZ_CHECK (error->domain == G_IO_ERROR);
      return 0;
    }
  g_autoptr (GPtrArray) back = gen_render_read (work_dfd, "etc", &error);
  FUZZ_CHECK (back != NULL);
  g_autofree char *back_digest = gen_render_digest (back);
  FUZZ_CHECK (g_str_equal (digest, back_digest));
  g_autoptr (GPtrArray) none = gen_render_compare (back, files);
  FUZZ_CHECK (none->len == 0);

  g_autoptr (GPtrArray) changes = gen_render_compare (previous, files);
  for (guint i = 0; i < changes->len; i++)
    {
      GenOverlayChange *c = changes->pdata[i];
      FUZZ_CHECK (c->kind == GEN_OVERLAY_ADDED || c->kind == GEN_OVERLAY_REMOVED
                  || c->kind == GEN_OVERLAY_MODIFIED);
      if (i > 0)
        FUZZ_CHECK (strcmp (((GenOverlayChange *) changes->pdata[i - 1])->path, c->path) < 0);
      if (c->diff && *c->diff)
        FUZZ_CHECK (g_str_has_prefix (c->diff, "--- a/etc/") || g_str_has_prefix (c->diff, "--- /dev/null"));
    }
  return 0;
}
