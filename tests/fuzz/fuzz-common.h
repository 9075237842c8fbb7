/* fuzz-common.h: what the libFuzzer harnesses share.
 *
 * Each harness works in a private folder under $TMPDIR made once per
 * process; a failed invariant calls abort() so libFuzzer keeps the input. */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                       \
  do                                                                                           \
    {                                                                                          \
      if (!(cond))                                                                             \
        {                                                                                      \
          fprintf (stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
          abort ();                                                                            \
        }                                                                                      \
    }                                                                                          \
  while (0)

/* A gen error is one line: the CLI prints it as "error: MESSAGE". */
static inline void
fuzz_check_error (GError *error)
{
  FUZZ_CHECK (error != NULL);
  FUZZ_CHECK (error->message != NULL && *error->message != '\0');
  FUZZ_CHECK (strchr (error->message, '\n') == NULL);
  FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL));
}

static inline void
fuzz_write (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) < 0 || !g_file_set_contents (path, text, -1, NULL))
    {
      fprintf (stderr, "fuzz setup: cannot write %s\n", path);
      abort ();
    }
}

/* A folder with what manifests may name: releases/r1 (a folder), r.tar (a
 * file), templates/app.conf.in, files/blob, and an escaping symlink. */
static inline char *
fuzz_manifest_dir (void)
{
  g_autofree char *top = g_dir_make_tmp ("gen-fuzz-XXXXXX", NULL);
  if (!top)
    abort ();
  char *dir = g_build_filename (top, "site", NULL);
  g_autofree char *r1 = g_build_filename (dir, "releases/r1/usr", NULL);
  g_mkdir_with_parents (r1, 0755);
  g_autofree char *tar = g_build_filename (dir, "r.tar", NULL);
  g_autofree char *tpl = g_build_filename (dir, "templates/app.conf.in", NULL);
  g_autofree char *blob = g_build_filename (dir, "files/blob", NULL);
  g_autofree char *secret = g_build_filename (top, "secret", NULL);
  fuzz_write (tar, "not really a tarball");
  fuzz_write (tpl, "name={{hostname}}\nport={{ port }}\nlevel={{log_level}}\n");
  fuzz_write (blob, "kept as is: {{not_a_var}}\n");
  fuzz_write (secret, "outside\n");
  g_autofree char *link = g_build_filename (dir, "templates/escape.in", NULL);
  if (symlink ("../../secret", link) < 0)
    abort ();
  return dir;
}
