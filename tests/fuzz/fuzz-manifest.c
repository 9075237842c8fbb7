/* fuzz-manifest: the manifest parser (gen_manifest_parse) on any bytes.
 *
 * Invariants: a manifest is returned or one error is set, never both; the
 * error is one UTF-8 line of the GEN_ERROR domain; a manifest that parses
 * has a valid OS name, one release source (a path or ref, or else a package
 * list), remotes with a URL and keys exactly when they verify, targets below /etc/ sorted and without duplicates, and modes
 * without setuid or setgid bits. */
#include <unistd.h>

#include "fuzz-common.h"
#include "gen-error.h"
#include "gen-manifest.h"

static char *dir;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dir = fuzz_manifest_dir ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GenManifest) m = gen_manifest_parse ((const char *) data, size, "fuzz.json", dir, &error);
  if (!m)
    {
      fuzz_check_error (error);
      FUZZ_CHECK (error->domain == GEN_ERROR);
      FUZZ_CHECK (g_str_has_prefix (error->message, "fuzz.json: "));
      return 0;
    }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (gen_os_name_is_valid (m->os));
  if (m->release_kind == GEN_RELEASE_PACKAGES)
    FUZZ_CHECK (m->packages != NULL && m->release_source == NULL);
  else
    FUZZ_CHECK (m->release_source != NULL && *m->release_source != '\0' && m->packages == NULL);
  if (m->release_remote)
    FUZZ_CHECK (m->release_kind == GEN_RELEASE_REF
                && g_str_has_prefix (m->release_source, m->release_remote)
                && m->release_source[strlen (m->release_remote)] == ':');
  for (guint i = 0; i < m->remotes->len; i++)
    {
      const GenRemoteSpec *r = m->remotes->pdata[i];
      FUZZ_CHECK (*r->name && !strpbrk (r->name, ":/ "));
      FUZZ_CHECK (g_str_has_prefix (r->url, "http://") || g_str_has_prefix (r->url, "https://")
                  || g_str_has_prefix (r->url, "file:///"));
      FUZZ_CHECK (r->gpg_verify == (r->gpg_keys != NULL));
      if (i > 0)
        FUZZ_CHECK (strcmp (((GenRemoteSpec *) m->remotes->pdata[i - 1])->name, r->name) < 0);
    }
  FUZZ_CHECK (m->kernel_args != NULL);
  for (char **a = m->kernel_args; *a; a++)
    FUZZ_CHECK (**a != '\0' && !strpbrk (*a, " \t\n\r") && !g_str_has_prefix (*a, "gen."));
  for (guint i = 0; i < m->files->len; i++)
    {
      GenConfigFileSpec *spec = m->files->pdata[i];
      FUZZ_CHECK (g_str_has_prefix (spec->path, "/etc/") && spec->path[5] != '\0');
      FUZZ_CHECK (strstr (spec->path, "/../") == NULL && strstr (spec->path, "//") == NULL
                  && !g_str_has_suffix (spec->path, "/..") && !g_str_has_suffix (spec->path, "/"));
      FUZZ_CHECK ((spec->mode & ~07777u) == 0 && (spec->mode & 06000u) == 0);
      FUZZ_CHECK (spec->value != NULL);
      if (i > 0)
        FUZZ_CHECK (strcmp (((GenConfigFileSpec *) m->files->pdata[i - 1])->path, spec->path) < 0);
      if (spec->kind == GEN_CONFIG_TEMPLATE || spec->kind == GEN_CONFIG_SOURCE)
        FUZZ_CHECK (g_str_has_prefix (spec->value, dir));
    }
  return 0;
}
