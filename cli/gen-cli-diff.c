/* gen-cli-diff.c: prints a GenDiff, for `gen diff` and `gen switch --dry-run`. */
#include <stdio.h>
#include <unistd.h>

#include "gen-cli-diff.h"
#include "gen-cli.h"

typedef struct {
  const char *add, *del, *hunk, *bold, *reset;
} Colors;

static const char *const package_markers[] = {
  [GEN_PACKAGE_ADDED] = "[A+]",
  [GEN_PACKAGE_REMOVED] = "[R-]",
  [GEN_PACKAGE_UPGRADED] = "[U.]",
  [GEN_PACKAGE_DOWNGRADED] = "[D.]",
};
static const char *const package_words[] = {
  [GEN_PACKAGE_ADDED] = "added",
  [GEN_PACKAGE_REMOVED] = "removed",
  [GEN_PACKAGE_UPGRADED] = "upgraded",
  [GEN_PACKAGE_DOWNGRADED] = "downgraded",
};

static void
print_unified (const char *diff, const Colors *c)
{
  g_auto (GStrv) lines = g_strsplit (diff, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0' && !l[1])
        break;
      const char *color = "";
      if (g_str_has_prefix (*l, "@@"))
        color = c->hunk;
      else if (g_str_has_prefix (*l, "+"))
        color = c->add;
      else if (g_str_has_prefix (*l, "-"))
        color = c->del;
      printf ("      %s%s%s\n", color, *l, *color ? c->reset : "");
    }
}

static char *
human_size (gint64 bytes)
{
  return g_format_size_full (bytes < 0 ? 0 : bytes, G_FORMAT_SIZE_DEFAULT);
}

/* The data schema and data paths: "data: schema 1 → 2 (reads 1, 2 → 2, 3)". */
static void
print_data (GenDiff *d, gboolean stat_only)
{
  GenDataDecl *a = d->from->data, *b = d->to->data;
  g_autofree char *ra = gen_data_decl_reads_string (a);
  g_autofree char *rb = gen_data_decl_reads_string (b);
  if (gen_data_decl_equal (a, b))
    printf ("\ndata: schema %u (unchanged), reads %s\n", b->schema, rb);
  else if (a->schema != b->schema)
    printf ("\ndata: schema %u → %u (reads %s → %s)\n", a->schema, b->schema, ra, rb);
  else
    printf ("\ndata: schema %u (unchanged), reads %s → %s\n", b->schema, ra, rb);
  g_autofree char *pa = g_strjoinv (" ", d->from->data_paths);
  g_autofree char *pb = g_strjoinv (" ", d->to->data_paths);
  if (g_str_equal (pa, pb))
    {
      if (!stat_only)
        printf ("  paths: %s (unchanged)\n", *pb ? pb : "(none)");
    }
  else
    printf ("  paths: %s → %s\n", *pa ? pa : "(none)", *pb ? pb : "(none)");
}

static void
print_human (GenDiff *d, gboolean stat_only, const Colors *c)
{
  printf ("%sgeneration %u → generation %u%s\n", c->bold, d->from->number, d->to->number,
          c->reset);
  if (gen_diff_is_empty (d))
    {
      printf ("no differences\n");
      return;
    }

  /* packages */
  if (!d->packages)
    printf ("\npackages: no package data\n");
  else
    {
      guint counts[4] = { 0 };
      for (guint i = 0; i < d->packages->len; i++)
        counts[((GenPackageChange *) d->packages->pdata[i])->kind]++;
      printf ("\npackages: %u upgraded, %u downgraded, %u added, %u removed\n",
              counts[GEN_PACKAGE_UPGRADED], counts[GEN_PACKAGE_DOWNGRADED],
              counts[GEN_PACKAGE_ADDED], counts[GEN_PACKAGE_REMOVED]);
      for (guint i = 0; !stat_only && i < d->packages->len; i++)
        {
          GenPackageChange *p = d->packages->pdata[i];
          if (p->old_version && p->new_version)
            printf ("  %s %-30s %s → %s\n", package_markers[p->kind], p->name, p->old_version,
                    p->new_version);
          else
            printf ("  %s %-30s %s\n", package_markers[p->kind], p->name,
                    p->new_version ? p->new_version : p->old_version);
        }
    }

  /* config */
  guint cc[3] = { 0 };
  for (guint i = 0; i < d->config->len; i++)
    {
      GenOverlayChange *o = d->config->pdata[i];
      cc[o->kind == GEN_OVERLAY_ADDED ? 0 : o->kind == GEN_OVERLAY_REMOVED ? 1 : 2]++;
    }
  printf ("\nconfig: %u added, %u removed, %u changed\n", cc[0], cc[1], cc[2]);
  for (guint i = 0; !stat_only && i < d->config->len; i++)
    {
      GenOverlayChange *o = d->config->pdata[i];
      printf ("  %c %s\n", o->kind, o->path);
      if (o->old_mode && o->new_mode && o->old_mode != o->new_mode)
        printf ("      mode %04o → %04o\n", o->old_mode, o->new_mode);
      if (g_strcmp0 (o->old_target, o->new_target) != 0)
        printf ("      symlink %s → %s\n", o->old_target ? o->old_target : "(none)",
                o->new_target ? o->new_target : "(none)");
      if (o->diff)
        print_unified (o->diff, c);
      else if ((o->old_mode || o->new_mode) && o->kind == GEN_OVERLAY_MODIFIED)
        printf ("      binary contents differ\n");
    }

  /* files */
  printf ("\nfiles: %u added, %u removed, %u modified\n", d->files_added, d->files_removed,
          d->files_modified);
  for (guint i = 0; !stat_only && i < d->files->len; i++)
    {
      GenFileChange *f = d->files->pdata[i];
      g_autofree char *old_size = human_size (f->old_size);
      g_autofree char *new_size = human_size (f->new_size);
      if (f->kind == GEN_FILE_MODIFIED)
        printf ("  %c %s (%s → %s)\n", f->kind, f->path, old_size, new_size);
      else
        printf ("  %c %s (%s)\n", f->kind, f->path,
                f->kind == GEN_FILE_ADDED ? new_size : old_size);
    }

  /* kernel */
  g_autofree char *args_a = g_strjoinv (" ", d->from->kernel_args);
  g_autofree char *args_b = g_strjoinv (" ", d->to->kernel_args);
  printf ("\nkernel: ");
  if (g_strcmp0 (d->from->kernel_version, d->to->kernel_version) == 0)
    printf ("%s (unchanged)\n", d->to->kernel_version);
  else
    printf ("%s → %s\n", d->from->kernel_version, d->to->kernel_version);
  if (g_str_equal (args_a, args_b))
    printf ("  args: %s (unchanged)\n", *args_b ? args_b : "(none)");
  else
    printf ("  args: %s → %s\n", *args_a ? args_a : "(none)", *args_b ? args_b : "(none)");

  print_data (d, stat_only);

  /* size */
  g_autofree char *sa = human_size (d->size_from);
  g_autofree char *sb = human_size (d->size_to);
  g_autofree char *added = human_size (d->size_added);
  printf ("\nsize: %s → %s; generation %u's release adds %s to the store\n", sa, sb,
          d->to->number, added);
}

static void
add_strv (JsonBuilder *b, GStrv v)
{
  json_builder_begin_array (b);
  for (char **s = v; s && *s; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

static void
add_nullable (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_mode (JsonBuilder *b, const char *name, guint mode)
{
  json_builder_set_member_name (b, name);
  if (mode)
    {
      g_autofree char *s = g_strdup_printf ("%04o", mode);
      json_builder_add_string_value (b, s);
    }
  else
    json_builder_add_null_value (b);
}

static void
print_json (GenDiff *d)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "from");
  json_builder_add_int_value (b, d->from->number);
  json_builder_set_member_name (b, "to");
  json_builder_add_int_value (b, d->to->number);
  json_builder_set_member_name (b, "equal");
  json_builder_add_boolean_value (b, gen_diff_is_empty (d));

  json_builder_set_member_name (b, "packages");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "available");
  json_builder_add_boolean_value (b, d->packages != NULL);
  static const char *const sections[] = { "added", "removed", "changed" };
  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      json_builder_set_member_name (b, sections[s]);
      json_builder_begin_array (b);
      for (guint i = 0; d->packages && i < d->packages->len; i++)
        {
          GenPackageChange *p = d->packages->pdata[i];
          guint section = p->kind == GEN_PACKAGE_ADDED ? 0 : p->kind == GEN_PACKAGE_REMOVED ? 1 : 2;
          if (section != s)
            continue;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, p->name);
          add_nullable (b, "architecture", p->arch);
          if (section == 2)
            {
              add_nullable (b, "old", p->old_version);
              add_nullable (b, "new", p->new_version);
              add_nullable (b, "direction", package_words[p->kind]);
            }
          else
            add_nullable (b, "version", p->new_version ? p->new_version : p->old_version);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "config");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "changed");
  json_builder_begin_array (b);
  for (guint i = 0; i < d->config->len; i++)
    {
      GenOverlayChange *o = d->config->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, o->path);
      add_nullable (b, "change",
                    o->kind == GEN_OVERLAY_ADDED     ? "added"
                    : o->kind == GEN_OVERLAY_REMOVED ? "removed"
                                                     : "modified");
      add_nullable (b, "diff", o->diff);
      add_mode (b, "old_mode", o->old_mode);
      add_mode (b, "new_mode", o->new_mode);
      add_nullable (b, "old_symlink", o->old_target);
      add_nullable (b, "new_symlink", o->new_target);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "files");
  json_builder_begin_object (b);
  static const struct {
    const char *name;
    GenFileChangeKind kind;
  } kinds[] = { { "added", GEN_FILE_ADDED }, { "removed", GEN_FILE_REMOVED },
                { "modified", GEN_FILE_MODIFIED } };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      json_builder_set_member_name (b, kinds[k].name);
      json_builder_begin_array (b);
      for (guint i = 0; i < d->files->len; i++)
        {
          GenFileChange *f = d->files->pdata[i];
          if (f->kind == kinds[k].kind)
            json_builder_add_string_value (b, f->path);
        }
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "counts");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "added");
  json_builder_add_int_value (b, d->files_added);
  json_builder_set_member_name (b, "removed");
  json_builder_add_int_value (b, d->files_removed);
  json_builder_set_member_name (b, "modified");
  json_builder_add_int_value (b, d->files_modified);
  json_builder_end_object (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "kernel");
  json_builder_begin_object (b);
  GenGeneration *sides[] = { d->from, d->to };
  static const char *const side_names[] = { "before", "after" };
  for (guint s = 0; s < 2; s++)
    {
      json_builder_set_member_name (b, side_names[s]);
      json_builder_begin_object (b);
      add_nullable (b, "version", sides[s]->kernel_version);
      json_builder_set_member_name (b, "args");
      add_strv (b, sides[s]->kernel_args);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "data");
  json_builder_begin_object (b);
  for (guint s = 0; s < 2; s++)
    {
      json_builder_set_member_name (b, side_names[s]);
      gen_data_add_json (b, sides[s]->data, sides[s]->data_paths);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "size");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "before");
  json_builder_add_int_value (b, d->size_from);
  json_builder_set_member_name (b, "after");
  json_builder_add_int_value (b, d->size_to);
  json_builder_set_member_name (b, "added");
  json_builder_add_int_value (b, d->size_added);
  json_builder_end_object (b);

  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  gen_cli_print_json (root);
}

void
gen_cli_print_diff (GenDiff *d, gboolean json, gboolean stat_only)
{
  if (json)
    {
      print_json (d);
      return;
    }
  gboolean color = gen_cli_color (STDOUT_FILENO);
  Colors c = color ? (Colors) { "\033[32m", "\033[31m", "\033[36m", "\033[1m", "\033[0m" }
                   : (Colors) { "", "", "", "", "" };
  print_human (d, stat_only, &c);
}
