/* Unit tests for text diffs, package lists and Debian version order
 * (src/gen-textdiff.c, src/gen-packages.c). */
#include <string.h>

#include "gen-packages.h"
#include "gen-textdiff.h"

static void
test_text_diff_exact (void)
{
  g_autofree char *same = gen_text_diff ("a\n", "a\n", "a/x", "b/x");
  g_assert_cmpstr (same, ==, "");

  g_autofree char *one = gen_text_diff ("a\nb\nc\n", "a\nB\nc\n", "a/x", "b/x");
  g_assert_cmpstr (one, ==, "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");

  g_autofree char *added = gen_text_diff (NULL, "new\n", "a/x", "b/x");
  g_assert_cmpstr (added, ==, "--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+new\n");

  g_autofree char *removed = gen_text_diff ("old\nold2\n", NULL, "a/x", "b/x");
  g_assert_cmpstr (removed, ==, "--- a/x\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-old\n-old2\n");

  /* An empty file added or removed: no lines, still a header. */
  g_autofree char *empty_added = gen_text_diff (NULL, "", "a/x", "b/x");
  g_assert_cmpstr (empty_added, ==, "--- /dev/null\n+++ b/x\n");
  g_autofree char *empty_removed = gen_text_diff ("", NULL, "a/x", "b/x");
  g_assert_cmpstr (empty_removed, ==, "--- a/x\n+++ /dev/null\n");
  g_autofree char *no_eol = gen_text_diff ("a", "b", "a/x", "b/x");
  g_assert_cmpstr (no_eol, ==,
                   "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n"
                   "\\ No newline at end of file\n");

  /* Two changes far apart: two hunks with three lines of context each. */
  GString *a = g_string_new (NULL), *b = g_string_new (NULL);
  for (int i = 1; i <= 20; i++)
    {
      g_string_append_printf (a, "%d\n", i);
      if (i == 2 || i == 18)
        g_string_append (b, i == 2 ? "two\n" : "eighteen\n");
      else
        g_string_append_printf (b, "%d\n", i);
    }
  g_autofree char *two = gen_text_diff (a->str, b->str, "a/x", "b/x");
  g_assert_cmpstr (two, ==,
                   "--- a/x\n+++ b/x\n"
                   "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
                   "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n");
  g_string_free (a, TRUE);
  g_string_free (b, TRUE);
}

/* Applies a unified diff to @old and returns the result, checking that
 * context and removed lines match: the diff must turn old into new. */
static char *
apply (const char *old, const char *diff)
{
  g_auto (GStrv) old_lines = g_strsplit (old, "\n", -1);
  g_auto (GStrv) d = g_strsplit (diff, "\n", -1);
  GString *out = g_string_new (NULL);
  guint pos = 0; /* next old line */
  guint n_old = *old ? g_strv_length (old_lines) - 1 : 0; /* texts end in "\n" */
  for (char **l = d + 2; *l && **l; l++)
    {
      if (g_str_has_prefix (*l, "@@"))
        {
          guint start = (guint) g_ascii_strtoull (*l + 4, NULL, 10);
          if (start > 0 && strstr (*l, ",0 +") == NULL)
            start--;
          while (pos < start)
            g_string_append_printf (out, "%s\n", old_lines[pos++]);
          continue;
        }
      if (**l == ' ' || **l == '-')
        {
          g_assert_cmpstr (*l + 1, ==, old_lines[pos]);
          pos++;
        }
      if (**l == ' ' || **l == '+')
        g_string_append_printf (out, "%s\n", *l + 1);
    }
  while (pos < n_old)
    g_string_append_printf (out, "%s\n", old_lines[pos++]);
  return g_string_free (out, FALSE);
}

static void
test_text_diff_random (void)
{
  GRand *rand = g_rand_new_with_seed (42);
  for (int round = 0; round < 300; round++)
    {
      GString *a = g_string_new (NULL), *b = g_string_new (NULL);
      int na = g_rand_int_range (rand, 0, 30), nb = g_rand_int_range (rand, 0, 30);
      for (int i = 0; i < na; i++)
        g_string_append_printf (a, "%c\n", 'a' + g_rand_int_range (rand, 0, 4));
      for (int i = 0; i < nb; i++)
        g_string_append_printf (b, "%c\n", 'a' + g_rand_int_range (rand, 0, 4));
      g_autofree char *diff = gen_text_diff (a->str, b->str, "a/x", "b/x");
      if (g_str_equal (a->str, b->str))
        g_assert_cmpstr (diff, ==, "");
      else
        {
          g_autofree char *result = apply (a->str, diff);
          g_assert_cmpstr (result, ==, b->str);
        }
      g_string_free (a, TRUE);
      g_string_free (b, TRUE);
    }
  g_rand_free (rand);
}

/* 20,000 lines, all different: the search is bounded (it once took 44 s and
 * more than 4 GB), and the diff still turns one text into the other. */
static void
test_text_diff_large (void)
{
  g_autoptr (GString) a = g_string_new ("same start\n"), b = g_string_new ("same start\n");
  for (int i = 0; i < 20000; i++)
    {
      g_string_append_printf (a, "a %d\n", i);
      g_string_append_printf (b, "b %d\n", i);
    }
  g_string_append (a, "same end\n");
  g_string_append (b, "same end\n");
  g_autofree char *diff = gen_text_diff (a->str, b->str, "a/x", "b/x");
  g_assert_true (g_str_has_prefix (diff, "--- a/x\n+++ b/x\n@@ -1,20002 +1,20002 @@\n same start\n-a 0\n"));
  g_autofree char *result = apply (a->str, diff);
  g_assert_cmpstr (result, ==, b->str);

  /* A small change in a long file stays a small diff. */
  g_autoptr (GString) c = g_string_new (a->str);
  g_string_replace (c, "a 10000\n", "changed\n", 1);
  g_autofree char *small = gen_text_diff (a->str, c->str, "a/x", "b/x");
  g_assert_cmpstr (small, ==, "--- a/x\n+++ b/x\n@@ -9999,7 +9999,7 @@\n a 9997\n a 9998\n a 9999\n-a 10000\n+changed\n a 10001\n a 10002\n a 10003\n");
}

static void
test_versions (void)
{
  g_assert_cmpint (gen_package_version_compare ("1.0-1", "1.0-2"), <, 0);
  g_assert_cmpint (gen_package_version_compare ("1.0~rc1", "1.0"), <, 0);
  g_assert_cmpint (gen_package_version_compare ("1:0.9", "2.0"), >, 0);
  g_assert_cmpint (gen_package_version_compare ("1.10", "1.9"), >, 0);
  g_assert_cmpint (gen_package_version_compare ("2.36-9+deb12u4", "2.36-9+deb12u4"), ==, 0);
}

static void
test_dpkg_status (void)
{
  const char *status = "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n"
                       "Architecture: amd64\nDescription: x\n continued\n\n"
                       "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
                       "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\n"
                       "Version: 12.4\n";
  g_autoptr (GPtrArray) pkgs = gen_packages_from_dpkg_status (status);
  g_assert_cmpuint (pkgs->len, ==, 2);
  GenPackage *p0 = pkgs->pdata[0], *p1 = pkgs->pdata[1];
  g_assert_cmpstr (p0->name, ==, "base-files");
  g_assert_cmpstr (p0->version, ==, "12.4");
  g_assert_cmpstr (p1->name, ==, "zlib1g");
  g_assert_cmpstr (p1->version, ==, "1:1.2.13");
  g_assert_cmpstr (p1->arch, ==, "amd64");
}

static void
test_packages_json (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) pkgs = gen_packages_from_json (
      "{\"packages\":[{\"name\":\"b\",\"version\":\"2\"},{\"name\":\"a\",\"version\":\"1\","
      "\"architecture\":\"all\"}]}",
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pkgs->len, ==, 2);
  g_assert_cmpstr (((GenPackage *) pkgs->pdata[0])->name, ==, "a");
  g_assert_cmpstr (((GenPackage *) pkgs->pdata[0])->arch, ==, "all");
  g_autoptr (GPtrArray) bad = gen_packages_from_json ("{\"packages\":[{\"name\":\"b\"}]}", &error);
  g_assert_null (bad);
  g_assert_cmpstr (error->message, ==, "packages[0] needs a name and a version");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/textdiff/exact", test_text_diff_exact);
  g_test_add_func ("/textdiff/random-roundtrip", test_text_diff_random);
  g_test_add_func ("/textdiff/large", test_text_diff_large);
  g_test_add_func ("/packages/versions", test_versions);
  g_test_add_func ("/packages/dpkg-status", test_dpkg_status);
  g_test_add_func ("/packages/json", test_packages_json);
  return g_test_run ();
}
