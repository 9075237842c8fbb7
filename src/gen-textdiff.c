/* A line diff by Myers' O(ND) greedy algorithm ("An O(ND) Difference
 * Algorithm and Its Variations", 1986), keeping each round's frontier to
 * trace the edit script back; then hunks with three lines of context. */
#include "gen-textdiff.h"

#include <string.h>

#define CONTEXT 3

typedef enum { OP_KEEP, OP_DEL, OP_ADD } Op;

typedef struct {
  Op op;
  guint old_line; /* index into old lines (KEEP, DEL) */
  guint new_line; /* index into new lines (KEEP, ADD) */
} Edit;

/* Splits into lines, keeping each line's "\n" (the last may lack one). */
static GPtrArray *
split_lines (const char *text)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  if (!text)
    return lines;
  const char *p = text;
  while (*p)
    {
      const char *nl = strchr (p, '\n');
      const char *end = nl ? nl + 1 : p + strlen (p);
      g_ptr_array_add (lines, g_strndup (p, end - p));
      p = end;
    }
  return lines;
}

/* Myers' search stops after this many differing lines and the middle part
 * becomes "all removed, all added": the saved frontiers take about
 * MAX_D^2 integers (16 MB), however long the files are. */
#define MAX_D 2000

static void
add_edit (GArray *edits, Op op, guint old_line, guint new_line)
{
  Edit e = { op, old_line, new_line };
  g_array_append_val (edits, e);
}

/* Appends the edit script from a[a0, a0+n) to b[b0, b0+m), which differ in
 * their first and last lines (or are empty). */
static void
myers_middle (GPtrArray *a, GPtrArray *b, gint a0, gint n, gint b0, gint m, GArray *edits)
{
  gint max = n + m, dmax = MIN (max, MAX_D), offset = max + 1;
  g_autoptr (GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  g_autofree gint *v = g_new0 (gint, 2 * max + 3);
  gint d_end = -1;
  for (gint d = 0; d <= dmax; d++)
    {
      /* The frontier of round d - 1: diagonals -d..d suffice to walk back. */
      g_ptr_array_add (trace, g_memdup2 (v + offset - d, sizeof (gint) * (2 * d + 1)));
      gboolean done = FALSE;
      for (gint k = -d; k <= d && !done; k += 2)
        {
          gint x;
          if (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
            x = v[offset + k + 1];
          else
            x = v[offset + k - 1] + 1;
          gint y = x - k;
          while (x < n && y < m && g_str_equal (a->pdata[a0 + x], b->pdata[b0 + y]))
            x++, y++;
          v[offset + k] = x;
          if (x >= n && y >= m)
            done = TRUE;
        }
      if (done)
        {
          d_end = d;
          break;
        }
    }
  if (d_end < 0)
    {
      /* Too different to be worth a minimal diff. */
      for (gint i = 0; i < n; i++)
        add_edit (edits, OP_DEL, a0 + i, b0);
      for (gint j = 0; j < m; j++)
        add_edit (edits, OP_ADD, a0 + n, b0 + j);
      return;
    }

  /* Walk back from (n, m) through the saved frontiers, collecting the
   * script backwards, then reverse it. */
  guint first = edits->len;
  gint x = n, y = m;
  for (gint d = d_end; d >= 0; d--)
    {
      gint *vd = (gint *) trace->pdata[d] + d; /* vd[k] for k in -d..d */
      gint k = x - y;
      gint prev_k;
      if (d == 0)
        prev_k = 0;
      else if (k == -d || (k != d && vd[k - 1] < vd[k + 1]))
        prev_k = k + 1;
      else
        prev_k = k - 1;
      gint prev_x = d == 0 ? 0 : vd[prev_k];
      gint prev_y = prev_x - prev_k;
      while (x > prev_x && y > prev_y)
        {
          x--, y--;
          add_edit (edits, OP_KEEP, a0 + x, b0 + y);
        }
      if (d == 0)
        break;
      if (x == prev_x)
        add_edit (edits, OP_ADD, a0 + x, b0 + prev_y);
      else
        add_edit (edits, OP_DEL, a0 + prev_x, b0 + y);
      x = prev_x, y = prev_y;
    }
  Edit *e = (Edit *) edits->data;
  for (guint i = first, j = edits->len; i + 1 < j; i++, j--)
    {
      /* e[j - 1] is the last edit not yet swapped. */
      Edit t = e[i];
      e[i] = e[j - 1];
      e[j - 1] = t;
    }
}

/* Returns the edit script from a to b: common first and last lines, and
 * Myers between them. */
static GArray *
myers (GPtrArray *a, GPtrArray *b)
{
  gint n = a->len, m = b->len;
  gint pre = 0, suf = 0;
  while (pre < n && pre < m && g_str_equal (a->pdata[pre], b->pdata[pre]))
    pre++;
  while (suf < n - pre && suf < m - pre
         && g_str_equal (a->pdata[n - 1 - suf], b->pdata[m - 1 - suf]))
    suf++;
  GArray *edits = g_array_new (FALSE, FALSE, sizeof (Edit));
  for (gint i = 0; i < pre; i++)
    add_edit (edits, OP_KEEP, i, i);
  myers_middle (a, b, pre, n - pre - suf, pre, m - pre - suf, edits);
  for (gint i = 0; i < suf; i++)
    add_edit (edits, OP_KEEP, n - suf + i, m - suf + i);
  return edits;
}

static void
append_line (GString *out, char prefix, const char *line)
{
  g_string_append_c (out, prefix);
  g_string_append (out, line);
  if (!g_str_has_suffix (line, "\n"))
    g_string_append (out, "\n\\ No newline at end of file\n");
}

/* "@@ -l,s +l,s @@": a range of length 0 names the line before it. */
static void
append_range (GString *out, guint start, guint len)
{
  if (len == 1)
    g_string_append_printf (out, "%u", start + 1);
  else
    g_string_append_printf (out, "%u,%u", len ? start + 1 : start, len);
}

char *
gen_text_diff (const char *old_text, const char *new_text, const char *old_label,
               const char *new_label)
{
  if (g_strcmp0 (old_text, new_text) == 0)
    return g_strdup ("");
  g_autoptr (GPtrArray) a = split_lines (old_text);
  g_autoptr (GPtrArray) b = split_lines (new_text);
  g_autoptr (GArray) edits = myers (a, b);
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "--- %s\n+++ %s\n", old_text ? old_label : "/dev/null",
                          new_text ? new_label : "/dev/null");

  guint i = 0;
  Edit *e = (Edit *) edits->data;
  while (i < edits->len)
    {
      /* Find the next change, then extend the hunk while changes are close. */
      while (i < edits->len && e[i].op == OP_KEEP)
        i++;
      if (i >= edits->len)
        break;
      guint start = i > CONTEXT ? i - CONTEXT : 0;
      guint end = i;
      for (guint keep_run = 0; end < edits->len; end++)
        {
          keep_run = e[end].op == OP_KEEP ? keep_run + 1 : 0;
          if (keep_run > 2 * CONTEXT)
            break;
        }
      /* Trim trailing context to CONTEXT lines. */
      guint trailing = 0;
      while (end > start && e[end - 1].op == OP_KEEP)
        end--, trailing++;
      end += MIN (trailing, CONTEXT);

      guint old_start = e[start].old_line, new_start = e[start].new_line;
      guint old_len = 0, new_len = 0;
      for (guint j = start; j < end; j++)
        {
          old_len += e[j].op != OP_ADD;
          new_len += e[j].op != OP_DEL;
        }
      g_string_append (out, "@@ -");
      append_range (out, old_start, old_len);
      g_string_append (out, " +");
      append_range (out, new_start, new_len);
      g_string_append (out, " @@\n");
      for (guint j = start; j < end; j++)
        {
          if (e[j].op == OP_KEEP)
            append_line (out, ' ', a->pdata[e[j].old_line]);
          else if (e[j].op == OP_DEL)
            append_line (out, '-', a->pdata[e[j].old_line]);
          else
            append_line (out, '+', b->pdata[e[j].new_line]);
        }
      i = end;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
