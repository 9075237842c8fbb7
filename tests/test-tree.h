/* test-tree.h: writing the release trees that test-checkout.c and
 * test-import.c hand to libostree. */
#pragma once

#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file @rel under @root, of at least @size bytes (its name, repeated),
 * with @mode; its folders are made as needed. */
static inline void
test_tree_write_file (const char *root, const char *rel, gsize size, mode_t mode)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_no_errno (g_mkdir_with_parents (parent, 0755));
  g_autoptr (GString) content = g_string_new (rel);
  while (content->len < size)
    g_string_append (content, rel);
  g_assert_true (g_file_set_contents (path, content->str, -1, NULL));
  g_assert_no_errno (chmod (path, mode));
}

/* @n small files named file-0… in @folder, every seventh 0755, the others 0644. */
static inline void
test_tree_write_files (const char *root, const char *folder, int n)
{
  for (int i = 0; i < n; i++)
    {
      g_autofree char *rel = g_strdup_printf ("%s/file-%d", folder, i);
      test_tree_write_file (root, rel, 1, i % 7 == 0 ? 0755 : 0644);
    }
}

/* What both trees have, after their own folders ro and var/tmp: 16 folders
 * of 50 files (usr/share/data/d00…), files at the top and in /etc, an
 * empty folder, symlinks, a 0555 folder (ro) and a 01777 one (var/tmp). */
static inline void
test_tree_write_common (const char *root)
{
  for (int d = 0; d < 16; d++)
    {
      g_autofree char *folder = g_strdup_printf ("usr/share/data/d%02d", d);
      test_tree_write_files (root, folder, 50);
    }
  test_tree_write_file (root, "etc/hostname", 1, 0644);
  test_tree_write_file (root, "etc/shadow", 1, 0600);
  test_tree_write_file (root, "top", 1, 0755);
  g_autofree char *empty = g_build_filename (root, "var/empty", NULL);
  g_assert_no_errno (g_mkdir_with_parents (empty, 0755));
  g_autofree char *link = g_build_filename (root, "usr/share/data/d03/link", NULL);
  g_assert_no_errno (symlink ("file-1", link));
  g_autofree char *top_link = g_build_filename (root, "bin", NULL);
  g_assert_no_errno (symlink ("usr/bin", top_link));
  g_autofree char *ro = g_build_filename (root, "ro", NULL);
  g_assert_no_errno (chmod (ro, 0555));
  g_autofree char *tmp = g_build_filename (root, "var/tmp", NULL);
  g_assert_no_errno (chmod (tmp, 01777));
}

/* @depth folders "d", one in the other, in @root, the last holding an
 * empty file "bottom": a path deeper than PATH_MAX. */
static inline void
test_tree_write_chain (const char *root, int depth)
{
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  for (int i = 0; i < depth; i++)
    {
      g_assert_no_errno (mkdirat (fd, "d", 0755));
      int sub = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (sub, >=, 0);
      close (fd);
      fd = sub;
    }
  int file = openat (fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  g_assert_cmpint (file, >=, 0);
  close (file);
  close (fd);
}

/* The chain test_tree_write_chain() wrote is in @root, "bottom" a regular file. */
static inline void
test_tree_assert_chain (const char *root, int depth)
{
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  for (int i = 0; i < depth; i++)
    {
      int sub = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      g_assert_cmpint (sub, >=, 0);
      close (fd);
      fd = sub;
    }
  struct stat st;
  g_assert_no_errno (fstatat (fd, "bottom", &st, AT_SYMLINK_NOFOLLOW));
  g_assert_true (S_ISREG (st.st_mode));
  close (fd);
}
