/* gen-compose-fetch.c: getting the chosen .debs, checked against the
 * index's SHA256, from folders, the download cache, or HTTP (libcurl). */
#include "gen-compose-private.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-util.h"

/* --- HTTP ------------------------------------------------------------------ */

struct _GenHttp
{
  CURL *curl; /* one handle: its connections are reused from file to file */
};

void
gen_http_free (GenHttp *http)
{
  if (!http)
    return;
  if (http->curl)
    curl_easy_cleanup (http->curl);
  g_free (http);
}

GenHttp *
gen_http_new (GError **error)
{
  static gsize inited;
  if (g_once_init_enter (&inited))
    {
      CURLcode rc = curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&inited, rc == CURLE_OK ? 1 : 2);
    }
  g_autoptr (GenHttp) http = g_new0 (GenHttp, 1);
  if (inited != 1 || !(http->curl = curl_easy_init ()))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "cannot start libcurl");
      return NULL;
    }
  return g_steal_pointer (&http);
}

typedef struct
{
  int fd;
  GChecksum *sum;
  guint64 bytes;
  GenHttpProgress progress;
  gpointer user_data;
  GCancellable *cancellable;
  int write_errno;
} Download;

static size_t
download_write (char *data, size_t size, size_t nmemb, void *user_data)
{
  Download *d = user_data;
  size_t len = size * nmemb;
  if (g_cancellable_is_cancelled (d->cancellable))
    return 0;
  for (size_t off = 0; off < len;)
    {
      ssize_t n = write (d->fd, data + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          d->write_errno = errno;
          return 0; /* makes curl stop with CURLE_WRITE_ERROR */
        }
      off += n;
    }
  if (d->sum)
    g_checksum_update (d->sum, (const guchar *) data, len);
  d->bytes += len;
  if (d->progress)
    d->progress (d->bytes, d->user_data);
  return len;
}

gboolean
gen_http_get (GenHttp *http, const char *url, int fd, GChecksum *sum, GenHttpProgress progress,
              gpointer user_data, GCancellable *cancellable, GError **error)
{
  Download d = { fd, sum, 0, progress, user_data, cancellable, 0 };
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL *curl = http->curl;
  curl_easy_reset (curl);
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "gen");
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled server: less than 1 byte/s for a minute. */
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, download_write);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform (curl);
  long status = 0;
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK && status == 200)
    return TRUE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (rc == CURLE_WRITE_ERROR && d.write_errno)
    {
      errno = d.write_errno;
      return gen_throw_errno (error, "downloading '%s': writing", url);
    }
  if (rc == CURLE_OK && status == 404)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "downloading '%s': not found (HTTP 404)", url);
      return FALSE;
    }
  if (rc == CURLE_OK)
    g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "downloading '%s': HTTP status %ld", url,
                 status);
  else
    g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "downloading '%s': %s", url,
                 *errbuf ? errbuf : curl_easy_strerror (rc));
  return FALSE;
}

static gboolean
is_url (const char *location)
{
  return g_str_has_prefix (location, "http://") || g_str_has_prefix (location, "https://");
}

static GenHttp *
get_http (GenCompose *c, GError **error)
{
  if (!c->http)
    c->http = gen_http_new (error);
  return c->http;
}

int
gen_compose_open_location (GenCompose *c, const char *location, GCancellable *cancellable,
                           GError **error)
{
  if (!is_url (location))
    {
      int fd = open (location, O_RDONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0 && errno == ENOENT)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "'%s' does not exist", location);
      else if (fd < 0)
        gen_throw_errno (error, "opening '%s'", location);
      return fd;
    }
  GenHttp *http = get_http (c, error);
  if (!http)
    return -1;
  /* An index is read once: keep it in memory, not in the sysroot. */
  gen_autofd fd = memfd_create ("gen-index", MFD_CLOEXEC);
  if (fd < 0)
    return gen_throw_errno (error, "creating a memory file"), -1;
  if (!gen_http_get (http, location, fd, NULL, NULL, NULL, cancellable, error))
    return -1;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return gen_throw_errno (error, "reading '%s'", location), -1;
  int out = fd;
  fd = -1;
  return out;
}

/* --- checking and fetching packages ---------------------------------------- */

/* The SHA-256 of a file, in lower-case hex. */
static char *
file_sha256 (int dfd, const char *path, GCancellable *cancellable, GError **error)
{
  gen_autofd fd = openat (dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return gen_throw_errno (error, "opening '%s'", path), NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1 << 20);
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 20);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return gen_throw_errno (error, "reading '%s'", path), NULL;
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
    }
  return g_strdup (g_checksum_get_string (sum));
}

typedef struct
{
  GenProgressFunc progress;
  gpointer user_data;
  guint done, total;
  guint64 bytes_before; /* downloaded before the current file */
  gint64 last_report;
} FetchProgress;

static void
report_fetch (FetchProgress *fp, guint64 bytes, gboolean force)
{
  if (!fp->progress)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && now - fp->last_report < 100000)
    return;
  fp->last_report = now;
  g_autofree char *size = g_format_size (fp->bytes_before + bytes);
  g_autofree char *step = g_strdup_printf ("fetching packages (%s downloaded)", size);
  fp->progress (step, fp->done, fp->total, fp->user_data);
}

static void
on_download_progress (guint64 bytes, gpointer user_data)
{
  report_fetch (user_data, bytes, FALSE);
}

/* Downloads @pkg into @dfd as <sha256>.deb: a temporary name, checked, then renamed. */
static gboolean
download_package (GenCompose *c, GenComposePackage *pkg, int dfd, FetchProgress *fp,
                  GCancellable *cancellable, GError **error)
{
  GenHttp *http = get_http (c, error);
  if (!http)
    return FALSE;
  g_autofree char *final = g_strdup_printf ("%s.deb", pkg->sha256);
  g_autofree char *tmp = g_strdup_printf (".%s.deb.tmp-%08x", pkg->sha256, g_random_int ());
  gen_autofd fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return gen_throw_errno (error, "creating '%s'", tmp);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gboolean ok
      = gen_http_get (http, pkg->url, fd, sum, on_download_progress, fp, cancellable, error);
  struct stat st;
  guint64 got = ok && fstat (fd, &st) == 0 ? (guint64) st.st_size : 0;
  if (ok && !g_str_equal (g_checksum_get_string (sum), pkg->sha256))
    {
      g_autofree char *label = gen_compose_package_label (pkg);
      g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                   "package %s: '%s' does not match the index's SHA256 (index %s, download %s)",
                   label, pkg->url, pkg->sha256, g_checksum_get_string (sum));
      ok = FALSE;
    }
  if (!ok)
    {
      unlinkat (dfd, tmp, 0);
      return FALSE;
    }
  /* No fsync: a cached file is checked again before every use. */
  if (renameat (dfd, tmp, dfd, final) < 0)
    {
      unlinkat (dfd, tmp, 0);
      return gen_throw_errno (error, "renaming '%s'", tmp);
    }
  c->fetched++;
  c->fetched_bytes += got;
  fp->bytes_before += got;
  pkg->dfd = dfd;
  g_free (pkg->file);
  pkg->file = g_steal_pointer (&final);
  return TRUE;
}

/* Removes temporary names a killed download left in the cache. */
static gboolean
clean_cache (int dfd, GError **error)
{
  int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      if (fd >= 0)
        close (fd);
      return gen_throw_errno (error, "reading '%s'", GEN_COMPOSE_CACHE_DIR);
    }
  struct dirent *de;
  gboolean ok = TRUE;
  while (ok && (de = readdir (d)) != NULL)
    if (de->d_name[0] == '.' && strstr (de->d_name, ".tmp-") && unlinkat (dfd, de->d_name, 0) < 0
        && errno != ENOENT)
      ok = gen_throw_errno (error, "removing '%s'", de->d_name);
  closedir (d);
  return ok;
}

static int
open_cache (int sysroot_dfd, gboolean create, GError **error)
{
  if (create && !gen_mkdir_p_at (sysroot_dfd, GEN_COMPOSE_CACHE_DIR, 0755, error))
    return -1;
  int fd = openat (sysroot_dfd, GEN_COMPOSE_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && (create || errno != ENOENT))
    gen_throw_errno (error, "opening '%s'", GEN_COMPOSE_CACHE_DIR);
  return fd;
}

gboolean
gen_compose_fetch (GenCompose *c, int sysroot_dfd, gboolean keep, GenProgressFunc progress,
                   gpointer user_data, GCancellable *cancellable, GError **error)
{
  FetchProgress fp = { progress, user_data, 0, c->packages->len, 0, 0 };
  gboolean any_remote = FALSE;
  for (guint i = 0; i < c->packages->len; i++)
    any_remote |= ((GenComposePackage *) c->packages->pdata[i])->url != NULL;
  if (any_remote && c->cache_dfd < 0)
    {
      g_autoptr (GError) local_error = NULL;
      c->cache_dfd = open_cache (sysroot_dfd, keep, &local_error);
      if (c->cache_dfd < 0 && local_error)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (keep && !clean_cache (c->cache_dfd, error))
        return FALSE;
    }

  for (guint i = 0; i < c->packages->len; i++)
    {
      GenComposePackage *pkg = c->packages->pdata[i];
      g_autofree char *label = gen_compose_package_label (pkg);
      fp.done = i;
      report_fetch (&fp, 0, TRUE);
      if (pkg->url)
        {
          /* The cache first; a damaged cached file is fetched again. */
          g_autofree char *cached = g_strdup_printf ("%s.deb", pkg->sha256);
          if (c->cache_dfd >= 0 && gen_exists_at (c->cache_dfd, cached))
            {
              g_autofree char *sum = file_sha256 (c->cache_dfd, cached, cancellable, error);
              if (!sum)
                return FALSE;
              if (g_str_equal (sum, pkg->sha256))
                {
                  pkg->dfd = c->cache_dfd;
                  pkg->file = g_steal_pointer (&cached);
                  continue;
                }
              g_debug ("cached %s is damaged; fetching it again", cached);
              if (keep && unlinkat (c->cache_dfd, cached, 0) < 0)
                return gen_throw_errno (error, "removing '%s'", cached);
            }
          int dfd = c->cache_dfd;
          if (!keep)
            {
              /* A dry run writes nothing in the sysroot. */
              if (!c->tmpdir)
                {
                  c->tmpdir = g_dir_make_tmp ("gen-compose-XXXXXX", error);
                  if (!c->tmpdir)
                    return FALSE;
                  c->tmp_dfd = gen_open_dir_at (AT_FDCWD, c->tmpdir, error);
                  if (c->tmp_dfd < 0)
                    return FALSE;
                }
              dfd = c->tmp_dfd;
            }
          if (!download_package (c, pkg, dfd, &fp, cancellable, error))
            return FALSE;
          continue;
        }

      /* A folder repository: check the file where it is. */
      g_autofree char *sum = file_sha256 (pkg->dfd, pkg->file, cancellable, error);
      if (!sum)
        {
          g_prefix_error (error, "package %s: ", label);
          return FALSE;
        }
      if (!g_str_equal (sum, pkg->sha256))
        {
          g_set_error (error, GEN_ERROR, GEN_ERROR_INVALID_RELEASE,
                       "package %s: '%s' does not match the index's SHA256 (index %s, file %s)",
                       label, pkg->file, pkg->sha256, sum);
          return FALSE;
        }
    }
  fp.done = c->packages->len;
  report_fetch (&fp, 0, TRUE);
  return TRUE;
}
