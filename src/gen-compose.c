/* gen-compose.c: resolving a release's package set with libsolv, and what
 * the store needs to know about the result (metadata, reuse). */
#include "gen-compose-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <solv/chksum.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/problems.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/rules.h>
#include <solv/solv_xfopen.h>
#include <solv/solver.h>
#include <solv/transaction.h>
#include <string.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-util.h"

typedef Pool GenSolvPool;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSolvPool, pool_free)
typedef Solver GenSolver;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSolver, solver_free)
typedef Transaction GenSolvTransaction;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GenSolvTransaction, transaction_free)

/* A Queue on the stack, freed on scope exit. */
static void
queue_cleanup (Queue *q)
{
  queue_free (q);
}
#define gen_autoqueue __attribute__ ((cleanup (queue_cleanup))) Queue

static void
package_free (GenComposePackage *pkg)
{
  g_free (pkg->name);
  g_free (pkg->version);
  g_free (pkg->arch);
  g_free (pkg->sha256);
  g_free (pkg->url);
  g_free (pkg->file);
  g_strfreev (pkg->scripts);
  g_free (pkg);
}

void
gen_compose_free (GenCompose *c)
{
  if (!c)
    return;
  g_free (c->what);
  g_free (c->arch);
  g_strfreev (c->setuid);
  g_free (c->version);
  g_clear_pointer (&c->packages, g_ptr_array_unref);
  g_free (c->input);
  g_clear_pointer (&c->http, gen_http_free);
  if (c->cache_dfd >= 0)
    close (c->cache_dfd);
  if (c->tmp_dfd >= 0)
    close (c->tmp_dfd);
  if (c->tmpdir)
    gen_rm_rf_at (AT_FDCWD, c->tmpdir, NULL);
  g_free (c->tmpdir);
  g_strfreev (c->scripts_skipped);
  g_strfreev (c->setuid_stripped);
  g_free (c);
}

const char *
gen_compose_native_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "i386";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
  return "armhf";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64el";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return NULL;
#endif
}

GPtrArray *
gen_compose_get_packages (GenCompose *c)
{
  return c->packages;
}

const char *
gen_compose_get_input (GenCompose *c)
{
  return c->input;
}

guint
gen_compose_get_fetched (GenCompose *c, guint64 *out_bytes)
{
  if (out_bytes)
    *out_bytes = c->fetched_bytes;
  return c->fetched;
}

guint64
gen_compose_get_size (GenCompose *c)
{
  return c->size;
}

GStrv
gen_compose_get_scripts_skipped (GenCompose *c)
{
  return c->scripts_skipped;
}

GStrv
gen_compose_get_setuid_stripped (GenCompose *c)
{
  return c->setuid_stripped;
}

/* --- reading the indexes --------------------------------------------------- */

/* The index files of @repo: a flat repository has one at its root, a
 * dists/ layout one per component. */
static GPtrArray *
index_folders (GenPackageRepo *repo, const char *arch)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  if (!repo->suite)
    g_ptr_array_add (out, g_strdup (repo->url));
  for (char **comp = repo->components; repo->suite && *comp; comp++)
    g_ptr_array_add (
        out, g_strdup_printf ("%s/dists/%s/%s/binary-%s", repo->url, repo->suite, *comp, arch));
  return out;
}

/* libsolvext, which reads the indexes, is loaded here rather than linked: it
 * brings librpm, lua, sqlite, popt and expat, and loading them costs every
 * start of gen-store ~4 ms (docs/BENCHMARKS.md), for the rare run that
 * composes.  libsolv, which it builds on, is linked and already loaded.
 * dlopen() itself, not GModule: given a bare name, GModule first tries it
 * (and a .la file naming any library) in the current folder, and gen runs
 * as root wherever the operator keeps the manifests; dlopen() looks only
 * where the dynamic linker does. */
typedef struct
{
  __typeof__ (repo_add_debpackages) *add_debpackages;
  __typeof__ (solv_xfopen_fd) *xfopen_fd;
} SolvExt;

static const SolvExt *
solvext_load (GError **error)
{
  static GMutex lock;
  static SolvExt ext;
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&lock);
  if (ext.add_debpackages)
    return &ext;
  void *lib = dlopen (GEN_SOLVEXT_SONAME, RTLD_NOW | RTLD_LOCAL);
  SolvExt found = { NULL, NULL };
  if (lib)
    {
      found.add_debpackages = dlsym (lib, "repo_add_debpackages");
      found.xfopen_fd = dlsym (lib, "solv_xfopen_fd");
    }
  if (found.add_debpackages && found.xfopen_fd)
    {
      ext = found; /* and the library stays loaded */
      return &ext;
    }
  const char *why = dlerror ();
  g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
               "composing a release from packages needs libsolvext: %s",
               why ? why : GEN_SOLVEXT_SONAME ": a function is missing");
  if (lib)
    dlclose (lib);
  return NULL;
}

/* Adds the first of Packages, Packages.xz, Packages.gz found in @folder
 * (for a URL: .xz, .gz, then plain, the smallest download first). */
static gboolean
add_index (GenCompose *c, const SolvExt *ext, Repo *repo, const char *folder,
           GCancellable *cancellable, GError **error)
{
  static const char *const local_names[] = { "Packages", "Packages.xz", "Packages.gz" };
  static const char *const remote_names[] = { "Packages.xz", "Packages.gz", "Packages" };
  gboolean remote = g_str_has_prefix (folder, "http://") || g_str_has_prefix (folder, "https://");
  const char *const *names = remote ? remote_names : local_names;
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *location = g_strdup_printf ("%s/%s", folder, names[i]);
      g_autoptr (GError) local_error = NULL;
      int fd = gen_compose_open_location (c, location, cancellable, &local_error);
      if (fd < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        continue;
      if (fd < 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* libsolvext picks the decompressor from the name; the FILE owns the fd. */
      FILE *fp = ext->xfopen_fd (names[i], fd, "r");
      if (!fp)
        {
          close (fd);
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE, "reading index '%s': %s",
                       location, g_strerror (errno));
          return FALSE;
        }
      int before = repo->nsolvables;
      ext->add_debpackages (repo, fp, REPO_NO_INTERNALIZE);
      gboolean bad = ferror (fp) != 0;
      fclose (fp);
      repo_internalize (repo);
      if (bad)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "reading index '%s': the file is damaged or truncated", location);
          return FALSE;
        }
      g_debug ("%s: %d packages", location, repo->nsolvables - before);
      return TRUE;
    }
  g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
               "no package index in '%s' (expected Packages, Packages.xz or Packages.gz)", folder);
  return FALSE;
}

/* --- the jobs ---------------------------------------------------------------- */

static Id
request_dep (Pool *pool, GenPackageRequest *r)
{
  Id dep = pool_str2id (pool, r->name, 1);
  if (!r->op)
    return dep;
  int flags = g_str_equal (r->op, "<<")   ? REL_LT
              : g_str_equal (r->op, "<=") ? REL_LT | REL_EQ
              : g_str_equal (r->op, "=")  ? REL_EQ
              : g_str_equal (r->op, ">=") ? REL_GT | REL_EQ
                                          : REL_GT;
  return pool_rel2id (pool, dep, pool_str2id (pool, r->version, 1), flags, 1);
}

/* TRUE when a package is called @name (rather than only providing it). */
static gboolean
has_package_named (Pool *pool, const char *name)
{
  Id id = pool_str2id (pool, name, 0);
  Id p, pp;
  if (!id)
    return FALSE;
  FOR_PROVIDES (p, pp, id)
  if (pool->solvables[p].name == id)
    return TRUE;
  return FALSE;
}

/* libsolv chooses among the alternatives of "a | b" by its own order
 * (names), while Debian prefers the first one that can be installed.  So,
 * for every "a | b | c" met among the packages the requests can reach, favor
 * a, then b: earlier alternatives more, and dependencies met closer to the
 * requests more (libsolv lets a later favor job win). */
static void
add_alternative_favors (Pool *pool, Queue *job)
{
  gen_autoqueue todo, alts;
  queue_init (&todo);
  queue_init (&alts);
  Map seen;
  map_init (&seen, pool->nsolvables);
  for (int i = 0; i < job->count; i += 2)
    {
      if ((job->elements[i] & SOLVER_JOBMASK) != SOLVER_INSTALL)
        continue;
      Id p, pp, select = job->elements[i] & SOLVER_SELECTMASK, what = job->elements[i + 1];
      FOR_JOB_SELECT (p, pp, select, what)
      if (!MAPTST (&seen, p))
        {
          MAPSET (&seen, p);
          queue_push (&todo, p);
        }
    }
  for (int i = 0; i < todo.count; i++)
    {
      Solvable *s = pool->solvables + todo.elements[i];
      if (!s->requires)
        continue;
      for (Id *dp = s->repo->idarraydata + s->requires; *dp; dp++)
        {
          Id dep = *dp, p, pp;
          if (dep == SOLVABLE_PREREQMARKER)
            continue;
          if (ISRELDEP (dep) && GETRELDEP (pool, dep)->flags == REL_OR)
            queue_push (&alts, dep);
          FOR_PROVIDES (p, pp, dep)
          if (!MAPTST (&seen, p))
            {
              MAPSET (&seen, p);
              queue_push (&todo, p);
            }
        }
    }
  map_free (&seen);
  for (int i = alts.count - 1; i >= 0; i--)
    {
      /* a | (b | c): favor b, then a, so that a wins. */
      gen_autoqueue chain;
      queue_init (&chain);
      Id dep = alts.elements[i];
      while (ISRELDEP (dep) && GETRELDEP (pool, dep)->flags == REL_OR)
        {
          queue_push (&chain, GETRELDEP (pool, dep)->name);
          dep = GETRELDEP (pool, dep)->evr;
        }
      for (int j = chain.count - 1; j >= 0; j--)
        queue_push2 (job, SOLVER_FAVOR | SOLVER_SOLVABLE_PROVIDES, chain.elements[j]);
    }
}

static void
add_unique (GPtrArray *arr, const char *s)
{
  if (!g_ptr_array_find_with_equal_func (arr, s, g_str_equal, NULL))
    g_ptr_array_add (arr, g_strdup (s));
}

/* One line per problem: the requests involved, libsolv's description, and
 * the other rules in the way. */
static char *
describe_problems (Solver *solv, int count, GPtrArray *job_texts)
{
  g_autoptr (GString) out = g_string_new (NULL);
  for (Id problem = 1; problem <= count; problem++)
    {
      g_autoptr (GPtrArray) requests = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) excluded = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (reasons, g_strdup (solver_problem2str (solv, problem)));
      gen_autoqueue rules;
      queue_init (&rules);
      solver_findallproblemrules (solv, problem, &rules);
      for (int i = 0; i < rules.count; i++)
        {
          Id rid = rules.elements[i];
          if (solver_ruleclass (solv, rid) == SOLVER_RULE_JOB)
            {
              int idx = solver_rule2jobidx (solv, rid) / 2;
              const char *text = idx < (int) job_texts->len ? job_texts->pdata[idx] : NULL;
              if (text && text[0] == '!')
                add_unique (excluded, text + 1);
              else if (text)
                add_unique (requests, text);
              continue;
            }
          Id source, target, dep;
          SolverRuleinfo type = solver_ruleinfo (solv, rid, &source, &target, &dep);
          add_unique (reasons, solver_problemruleinfo2str (solv, type, source, target, dep));
        }
      if (problem > 1)
        g_string_append (out, "; and ");
      if (count > 1)
        g_string_append_printf (out, "problem %d of %d: ", problem, count);
      if (requests->len > 0)
        {
          g_string_append (out, "cannot install ");
          for (guint i = 0; i < requests->len; i++)
            g_string_append_printf (out, "%s'%s'", i ? ", " : "", (char *) requests->pdata[i]);
          g_string_append (out, ": ");
        }
      /* Enough rules to see why; a large archive can give dozens. */
      guint shown = MIN (reasons->len, 5u);
      for (guint i = 0; i < shown; i++)
        g_string_append_printf (out, "%s%s", i ? "; " : "", (char *) reasons->pdata[i]);
      if (reasons->len > shown)
        g_string_append_printf (out, "; and %u more rules", reasons->len - shown);
      for (guint i = 0; i < excluded->len; i++)
        g_string_append_printf (out, "%s'%s'%s",
                                i ? ", " : " (excluded: ", (char *) excluded->pdata[i],
                                i + 1 == excluded->len ? ")" : "");
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A relative path that stays inside its base: no '..', not absolute. */
static gboolean
location_is_safe (const char *loc)
{
  if (!*loc || loc[0] == '/' || strchr (loc, '\\') || strstr (loc, "://"))
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (loc, "/", -1);
  for (char **p = parts; *p; p++)
    if (g_str_equal (*p, ".."))
      return FALSE;
  return TRUE;
}

static gint
package_compare (gconstpointer a, gconstpointer b)
{
  const GenComposePackage *pa = *(GenComposePackage **) a, *pb = *(GenComposePackage **) b;
  int r = strcmp (pa->name, pb->name);
  return r ? r : strcmp (pa->arch, pb->arch);
}

static char *
compute_input (GenCompose *c)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *head
      = g_strdup_printf ("gen compose %d\narch %s\nversion %s\n", GEN_COMPOSE_RULES_VERSION,
                         c->arch, c->version ? c->version : "");
  g_checksum_update (sum, (const guchar *) head, -1);
  for (char **s = c->setuid; *s; s++)
    {
      g_autofree char *line = g_strdup_printf ("setuid %s\n", *s);
      g_checksum_update (sum, (const guchar *) line, -1);
    }
  for (guint i = 0; i < c->packages->len; i++)
    {
      GenComposePackage *pkg = c->packages->pdata[i];
      g_autofree char *line = g_strdup_printf ("package %s %s %s %s\n", pkg->name, pkg->version,
                                               pkg->arch, pkg->sha256);
      g_checksum_update (sum, (const guchar *) line, -1);
    }
  return g_strdup (g_checksum_get_string (sum));
}

GenCompose *
gen_compose_resolve (GenPackagesSpec *spec, const char *release_version, const char *what,
                     GenProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                     GError **error)
{
  g_autoptr (GenCompose) c = g_new0 (GenCompose, 1);
  c->cache_dfd = c->tmp_dfd = -1;
  c->what = g_strdup (what);
  c->arch = g_strdup (spec->architecture ? spec->architecture : gen_compose_native_arch ());
  c->setuid = g_strdupv (spec->setuid);
  c->version = g_strdup (release_version);
  if (!c->arch)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST,
                   "%s: release.packages.architecture: gen does not know this machine's Debian "
                   "architecture; give one",
                   what);
      return NULL;
    }

  const SolvExt *ext = solvext_load (error);
  if (!ext)
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  g_autoptr (GenSolvPool) pool = pool_create ();
  pool_setdisttype (pool, DISTTYPE_DEB);
  pool_setarch (pool, c->arch);
  g_autoptr (GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);
  guint n_indexes = 0, done = 0;
  for (guint i = 0; i < spec->repos->len; i++)
    {
      g_autoptr (GPtrArray) folders = index_folders (spec->repos->pdata[i], c->arch);
      n_indexes += folders->len;
    }
  for (guint i = 0; i < spec->repos->len; i++)
    {
      GenPackageRepo *r = spec->repos->pdata[i];
      g_autoptr (GPtrArray) folders = index_folders (r, c->arch);
      for (guint j = 0; j < folders->len; j++)
        {
          if (progress)
            progress ("reading package indexes", done, n_indexes, user_data);
          Repo *repo = repo_create (pool, folders->pdata[j]);
          repo->appdata = g_strdup (r->url);
          g_ptr_array_add (bases, repo->appdata);
          /* Same version in two repositories: the earlier repository wins. */
          repo->subpriority = -(int) i;
          if (!add_index (c, ext, repo, folders->pdata[j], cancellable, error))
            {
              g_prefix_error (error, "%s: release.packages.repos[%u]: ", what, i);
              return NULL;
            }
          done++;
        }
    }
  if (progress)
    progress ("resolving packages", 0, 0, user_data);
  pool_addfileprovides (pool);
  pool_createwhatprovides (pool);

  /* job_texts[k] describes job k: a request, "!name" for an exclude, or NULL. */
  gen_autoqueue job;
  queue_init (&job);
  g_autoptr (GPtrArray) job_texts = g_ptr_array_new ();
  for (guint i = 0; i < spec->install->len; i++)
    {
      GenPackageRequest *r = spec->install->pdata[i];
      Id how = has_package_named (pool, r->name) ? SOLVER_SOLVABLE_NAME : SOLVER_SOLVABLE_PROVIDES;
      queue_push2 (&job, SOLVER_INSTALL | how, request_dep (pool, r));
      g_ptr_array_add (job_texts, r->text);
    }
  g_autoptr (GPtrArray) exclude_texts = g_ptr_array_new_with_free_func (g_free);
  for (char **x = spec->exclude; *x; x++)
    {
      /* A lock on a package that is not installed keeps it out. */
      queue_push2 (&job, SOLVER_LOCK | SOLVER_SOLVABLE_NAME, pool_str2id (pool, *x, 1));
      char *text = g_strconcat ("!", *x, NULL);
      g_ptr_array_add (exclude_texts, text);
      g_ptr_array_add (job_texts, text);
    }
  add_alternative_favors (pool, &job);

  g_autoptr (GenSolver) solv = solver_create (pool);
  /* Recommends are not installed: the manifest lists what it wants. */
  solver_set_flag (solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
  int problems = solver_solve (solv, &job);
  if (problems > 0)
    {
      g_autofree char *text = describe_problems (solv, problems, job_texts);
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_MANIFEST, "%s: release.packages: %s", what,
                   text);
      return NULL;
    }

  g_autoptr (GenSolvTransaction) trans = solver_create_transaction (solv);
  gen_autoqueue chosen;
  queue_init (&chosen);
  transaction_installedresult (trans, &chosen);
  c->packages = g_ptr_array_new_with_free_func ((GDestroyNotify) package_free);
  for (int i = 0; i < chosen.count; i++)
    {
      Solvable *s = pool_id2solvable (pool, chosen.elements[i]);
      GenComposePackage *pkg = g_new0 (GenComposePackage, 1);
      g_ptr_array_add (c->packages, pkg);
      pkg->name = g_strdup (pool_id2str (pool, s->name));
      pkg->version = g_strdup (pool_id2str (pool, s->evr));
      pkg->arch = g_strdup (pool_id2str (pool, s->arch));
      pkg->dfd = -1;
      g_autofree char *label = gen_compose_package_label (pkg);
      Id type = 0;
      const char *sha = solvable_lookup_checksum (s, SOLVABLE_CHECKSUM, &type);
      if (!sha || type != REPOKEY_TYPE_SHA256)
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "package %s: its index gives no SHA256 (dpkg-scanpackages writes one)",
                       label);
          return NULL;
        }
      pkg->sha256 = g_ascii_strdown (sha, -1);
      const char *loc = solvable_get_location (s, NULL);
      while (loc && g_str_has_prefix (loc, "./"))
        loc += 2;
      if (!loc || !location_is_safe (loc))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "package %s: its index gives the file name '%s', which is not a path "
                       "inside the repository",
                       label, loc ? loc : "");
          return NULL;
        }
      const char *base = s->repo->appdata;
      g_autofree char *location = g_strdup_printf ("%s/%s", base, loc);
      if (g_str_has_prefix (base, "http://") || g_str_has_prefix (base, "https://"))
        pkg->url = g_steal_pointer (&location);
      else
        {
          pkg->dfd = AT_FDCWD;
          pkg->file = g_steal_pointer (&location);
        }
    }
  g_ptr_array_sort (c->packages, package_compare);
  c->input = compute_input (c);
  return g_steal_pointer (&c);
}

/* --- what the store records -------------------------------------------------- */

void
gen_compose_add_metadata (GenCompose *c, GVariantBuilder *b)
{
  g_variant_builder_add (b, "{sv}", GEN_COMPOSE_META_PACKAGES,
                         g_variant_new_uint32 (c->packages->len));
  const char *const empty[] = { NULL };
  const char *const *scripts
      = c->scripts_skipped ? (const char *const *) c->scripts_skipped : empty;
  const char *const *setuid = c->setuid_stripped ? (const char *const *) c->setuid_stripped : empty;
  g_variant_builder_add (b, "{sv}", GEN_COMPOSE_META_SCRIPTS, g_variant_new_strv (scripts, -1));
  g_variant_builder_add (b, "{sv}", GEN_COMPOSE_META_SETUID, g_variant_new_strv (setuid, -1));
  g_variant_builder_add (b, "{sv}", GEN_COMPOSE_META_INPUT, g_variant_new_string (c->input));
}

static gboolean
commit_has_input (OstreeRepo *repo, const char *checksum, const char *input)
{
  g_autoptr (GVariant) commit = NULL;
  if (!ostree_repo_load_commit (repo, checksum, &commit, NULL, NULL))
    return FALSE;
  g_autoptr (GVariant) meta = g_variant_get_child_value (commit, 0);
  const char *value = NULL;
  return g_variant_lookup (meta, GEN_COMPOSE_META_INPUT, "&s", &value)
         && g_str_equal (value, input);
}

char *
gen_compose_find_commit (GenCompose *c, OstreeRepo *repo, const char *os, GCancellable *cancellable)
{
  g_autoptr (GPtrArray) refs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (refs, g_strdup_printf ("%s/release", os));
  g_autoptr (GHashTable) gens = NULL;
  if (ostree_repo_list_refs_ext (repo, "gen/generation", &gens, OSTREE_REPO_LIST_REFS_EXT_NONE,
                                 cancellable, NULL))
    {
      g_autoptr (GList) names = g_list_sort (g_hash_table_get_keys (gens), (GCompareFunc) strcmp);
      for (GList *l = names; l; l = l->next)
        g_ptr_array_add (refs, g_strdup (l->data));
    }
  for (guint i = 0; i < refs->len; i++)
    {
      g_autofree char *checksum = NULL;
      if (ostree_repo_resolve_rev (repo, refs->pdata[i], TRUE, &checksum, NULL) && checksum
          && commit_has_input (repo, checksum, c->input))
        return g_steal_pointer (&checksum);
    }
  return NULL;
}
