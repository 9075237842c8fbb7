#include "gen-watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "gen-error.h"
#include "gen-statcache.h"
#include "gen-sysroot.h"
#include "gen-util.h"

#define WATCH_DIR GEN_STATE_DIR "/watch"

/* Every event a change makes: to a folder's entries, or to a file (its
 * data, its attributes or links, a close after writing). */
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
#define DIR_MASK                                                                                   \
  (FILE_MASK | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

/* A client waits this long for an answer (a stopped watcher), then walks. */
#define ANSWER_TIMEOUT_S 2

/* WATCH_DIR/<key><suffix>: one watcher per folder. */
static char *
watch_file (const char *folder, const char *suffix)
{
  g_autofree char *key = gen_statcache_key (folder, NULL);
  return g_strdup_printf (WATCH_DIR "/%s%s", key, suffix);
}

/* A socket address for @path below @dfd: through /proc, since there is no
 * bindat().  FALSE when it does not fit. */
static gboolean
socket_address (int dfd, const char *path, struct sockaddr_un *addr)
{
  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  int n = snprintf (addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dfd, path);
  return n > 0 && (gsize) n < sizeof addr->sun_path;
}

static gboolean
peer_is_us (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;
  return getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid ();
}

/* Whether @st is of a folder only we can enter, as WATCH_DIR must be. */
static gboolean
private_dir (const struct stat *st)
{
  return S_ISDIR (st->st_mode) && st->st_uid == geteuid () && (st->st_mode & 077) == 0;
}

/* WATCH_DIR and @path in it are ours alone: a folder only we can enter,
 * and a socket we own (not a symlink to someone else's). */
static gboolean
ours (int sysroot_dfd, const char *path)
{
  struct stat dir, sock;
  return fstatat (sysroot_dfd, WATCH_DIR, &dir, AT_SYMLINK_NOFOLLOW) == 0 && private_dir (&dir)
         && fstatat (sysroot_dfd, path, &sock, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISSOCK (sock.st_mode) && sock.st_uid == geteuid ();
}

/* Sends @request to the watcher at @path and reads one line back; NULL
 * when there is no watcher, or it is not ours, or it does not answer. */
static char *
ask (int sysroot_dfd, const char *path, const char *request)
{
  struct sockaddr_un addr;
  if (!ours (sysroot_dfd, path) || !socket_address (sysroot_dfd, path, &addr))
    return NULL;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return NULL;
  /* Before connect(): a watcher that is stopped, its backlog full, would
   * keep connect() waiting too. */
  struct timeval timeout = { .tv_sec = ANSWER_TIMEOUT_S };
  GString *answer = g_string_new (NULL);
  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) == 0
      && setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) == 0
      && connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0 && peer_is_us (fd)
      && send (fd, request, strlen (request), MSG_NOSIGNAL) == (ssize_t) strlen (request))
    {
      char buf[256];
      ssize_t n;
      while (answer->len < 16384 && !strchr (answer->str, '\n')
             && (n = recv (fd, buf, sizeof buf, 0)) > 0)
        g_string_append_len (answer, buf, n);
    }
  close (fd);
  if (!strchr (answer->str, '\n'))
    {
      g_string_free (answer, TRUE);
      return NULL;
    }
  return g_strstrip (g_string_free (answer, FALSE));
}

/* The mount namespace this process sees the tree through. */
static gboolean
mount_ns (struct stat *st)
{
  return stat ("/proc/self/ns/mnt", st) == 0;
}

char *
gen_watch_digest (int sysroot_dfd, const char *folder, gboolean *out_racy)
{
  g_autofree char *path = watch_file (folder, ".sock");
  g_autofree char *answer = ask (sysroot_dfd, path, "digest\n");
  if (!answer)
    return NULL;
  /* "digest HEX RACY DEV INO NS-DEV NS-INO": the folder watched, which the
   * path must still lead to (a symlink on the way may have moved), seen
   * through the same mounts (a mount in another namespace is not the
   * watcher's to see). */
  g_auto (GStrv) words = g_strsplit (answer, " ", -1);
  struct stat st, ns;
  if (g_strv_length (words) != 7 || !g_str_equal (words[0], "digest")
      || stat (folder, &st) < 0 || !S_ISDIR (st.st_mode) || !mount_ns (&ns)
      || g_ascii_strtoull (words[3], NULL, 10) != (guint64) st.st_dev
      || g_ascii_strtoull (words[4], NULL, 10) != (guint64) st.st_ino
      || g_ascii_strtoull (words[5], NULL, 10) != (guint64) ns.st_dev
      || g_ascii_strtoull (words[6], NULL, 10) != (guint64) ns.st_ino)
    return NULL;
  *out_racy = g_str_equal (words[2], "1");
  return g_strdup (words[1]);
}

char *
gen_watch_or_walk (int sysroot_dfd, const char *folder, gboolean *out_racy, GError **error)
{
  char *digest = gen_watch_digest (sysroot_dfd, folder, out_racy);
  return digest ? digest : gen_statcache_digest (folder, out_racy, error);
}

/* The sockets in WATCH_DIR, as paths below the sysroot. */
static GPtrArray *
list_sockets (int sysroot_dfd)
{
  g_autoptr (GPtrArray) sockets = g_ptr_array_new_with_free_func (g_free);
  int fd = openat (sysroot_dfd, WATCH_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      if (fd >= 0)
        close (fd);
      return g_steal_pointer (&sockets);
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (g_str_has_suffix (de->d_name, ".sock"))
      g_ptr_array_add (sockets, g_build_filename (WATCH_DIR, de->d_name, NULL));
  closedir (d);
  g_ptr_array_sort (sockets, (GCompareFunc) g_strcmp0);
  return g_steal_pointer (&sockets);
}

void
gen_watch_stop (int sysroot_dfd, const char *keep)
{
  g_autofree char *kept = keep ? watch_file (keep, ".sock") : NULL;
  g_autoptr (GPtrArray) sockets = list_sockets (sysroot_dfd);
  for (guint i = 0; i < sockets->len; i++)
    if (!kept || !g_str_equal (kept, sockets->pdata[i]))
      g_free (ask (sysroot_dfd, sockets->pdata[i], "stop\n"));
}

GPtrArray *
gen_watch_list (int sysroot_dfd)
{
  GPtrArray *folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sockets = list_sockets (sysroot_dfd);
  for (guint i = 0; i < sockets->len; i++)
    {
      g_autofree char *answer = ask (sysroot_dfd, sockets->pdata[i], "folder\n");
      if (answer && g_str_has_prefix (answer, "folder "))
        g_ptr_array_add (folders, g_strcompress (answer + strlen ("folder ")));
    }
  return folders;
}

void
gen_watch_stop_folder (int sysroot_dfd, const char *folder)
{
  g_autofree char *path = watch_file (folder, ".sock");
  g_free (ask (sysroot_dfd, path, "stop\n"));
}

/* --- the watcher ---------------------------------------------------------- */

/* Reads every queued event; TRUE if there was one (or the queue failed). */
static gboolean
drain (int ino)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gboolean any = FALSE;
  for (;;)
    {
      ssize_t n = read (ino, buf, sizeof buf);
      if (n > 0)
        any = TRUE;
      else if (n < 0 && errno == EINTR)
        continue;
      else
        return any || (n < 0 && errno != EAGAIN);
    }
}

/* Whether the folder @path is @top or below it: it, or one of the
 * folders ".." leads to from it up to the root, is @top. */
static gboolean
at_or_below (const char *path, const struct stat *top)
{
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  for (guint depth = 0; fd >= 0 && depth < 4096 && fstat (fd, &st) == 0; depth++)
    {
      if (st.st_dev == top->st_dev && st.st_ino == top->st_ino)
        {
          close (fd);
          return TRUE;
        }
      int up = openat (fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      struct stat up_st;
      gboolean root = up < 0 || fstat (up, &up_st) < 0
                      || (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino);
      close (fd);
      fd = root ? -1 : up;
      if (root && up >= 0)
        close (up);
    }
  if (fd >= 0)
    close (fd);
  return FALSE;
}

/* A mount point inside the folder @top, or NULL.  A mount over an entry
 * makes no inotify event, and a walk would go into it.  By ancestry, not by
 * path: a folder above @top may have been renamed (which tells @top's
 * watchers nothing).  A mount on @top itself, or above it, makes its path
 * lead to another folder, which the client sees.
 * Only a mount made on @top's file system can be inside it: when the mount
 * @top is on is known (@mnt_id, 0 if not), a mount made on another file
 * system (inside a network one that hangs, say) is not looked at. */
static char *
mount_inside (const struct stat *top, guint64 mnt_id)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return g_strdup ("/proc/self/mountinfo (unreadable)");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  /* "ID PARENT MAJ:MIN ROOT MOUNT-POINT …", with spaces as \040; IDs are ints. */
  g_autoptr (GPtrArray) mounts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr (GHashTable) device = g_hash_table_new (NULL, NULL); /* ID → MAJ:MIN */
  for (char **l = lines; *l; l++)
    {
      char **fields = g_strsplit (*l, " ", 6);
      if (g_strv_length (fields) < 5)
        {
          g_strfreev (fields);
          continue;
        }
      g_ptr_array_add (mounts, fields);
      g_hash_table_insert (device, GUINT_TO_POINTER (atoi (fields[0])), fields[2]);
    }
  const char *top_device
      = mnt_id ? g_hash_table_lookup (device, GUINT_TO_POINTER ((guint) mnt_id)) : NULL;
  for (guint i = 0; i < mounts->len; i++)
    {
      char **fields = mounts->pdata[i];
      const char *parent_device = g_hash_table_lookup (device, GUINT_TO_POINTER (atoi (fields[1])));
      if (top_device && parent_device && !g_str_equal (parent_device, top_device))
        continue;
      g_autofree char *point = g_strcompress (fields[4]);
      g_autofree char *parent = g_path_get_dirname (point);
      if (!g_str_equal (point, "/") && at_or_below (parent, top))
        return g_steal_pointer (&point);
    }
  return NULL;
}

/* A watcher at work. */
typedef struct
{
  int sysroot_dfd;
  const char *folder;
  const char *sock_path; /* below the sysroot */
  int lock;              /* flock'd while it lives */
  int ino;               /* the inotify queue */
  int mounts;            /* /proc/self/mountinfo, for poll() */
  guint watches;         /* inotify watches set */
  guint budget;          /* and how many it may set */
  struct stat top;       /* the folder watched */
  guint64 mnt_id;        /* the mount it is on (0: not known) */
  struct stat ns;        /* the mount namespace it is seen through */
  char *digest;          /* its walk's */
  gboolean racy;
} Watcher;

/* Whether anything happened: an event queued (all of them are read), or a
 * mount inside the folder.  The mount table's poll() reports each change
 * of the table once; the table is read again only then. */
static gboolean
changed (Watcher *w)
{
  struct pollfd p = { .fd = w->mounts, .events = POLLPRI };
  if (drain (w->ino))
    return TRUE;
  if (poll (&p, 1, 0) == 0)
    return FALSE;
  g_autofree char *inside = mount_inside (&w->top, w->mnt_id);
  return inside != NULL;
}

/* File systems whose every change the kernel itself makes, so inotify
 * sees it: not a network file system, nor FUSE, nor overlayfs (a change
 * to a layer below makes no event). */
static gboolean
local_fs (int fd)
{
  static const unsigned long types[] = {
    0xEF53,     /* ext2, ext3, ext4 */
    0x58465342, /* xfs */
    0x9123683E, /* btrfs */
    0x01021994, /* tmpfs */
    0xF2F52010, /* f2fs */
  };
  struct statfs sfs;
  if (fstatfs (fd, &sfs) < 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if ((unsigned long) sfs.f_type == types[i])
      return TRUE;
  return FALSE;
}

static gboolean
add_watch (Watcher *w, int dfd, const char *name, guint32 mask, const char *path, GError **error)
{
  if (w->watches >= w->budget)
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                   "'%s' has more entries than gen may watch (%u: fs.inotify.max_user_watches, "
                   "less what gen leaves to others)", w->folder, w->budget);
      return FALSE;
    }
  g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d%s%s", dfd, name ? "/" : "",
                                           name ? name : "");
  if (inotify_add_watch (w->ino, proc, mask) >= 0)
    {
      w->watches++;
      return TRUE;
    }
  if (name && errno == ENOENT)
    return TRUE; /* gone: its folder's watch has the event */
  if (errno == ENOSPC)
    return gen_throw_errno (error, "watching '%s' (fs.inotify.max_user_watches)", path);
  return gen_throw_errno (error, "watching '%s'", path);
}

/* Watches the folder open as @fd (taken), then every entry in it, top down:
 * a folder before its entries are read.  Each file has its own watch, since
 * a write through a hard link elsewhere tells only the file's watchers (and
 * the link's folder), as does a new link to it (IN_ATTRIB). */
static gboolean
watch_tree (Watcher *w, int fd, const char *path, GError **error)
{
  if (!local_fs (fd))
    {
      close (fd);
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                   "'%s' is not on a local file system that inotify sees whole", path);
      return FALSE;
    }
  DIR *d = add_watch (w, fd, NULL, DIR_MASK, path, error) ? fdopendir (fd) : NULL;
  if (!d)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return error && *error ? FALSE : gen_throw_errno (error, "reading '%s'", path);
    }
  struct dirent *de;
  gboolean ok = TRUE;
  while (ok && (errno = 0, de = readdir (d)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      g_autofree char *subpath = g_build_filename (path, de->d_name, NULL);
      if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
        {
          ok = add_watch (w, dirfd (d), de->d_name, FILE_MASK | IN_DONT_FOLLOW, subpath, error);
          continue;
        }
      int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        ok = watch_tree (w, sub, subpath, error);
      else if (errno == ENOENT)
        continue; /* gone: this folder's watch has the event */
      else if (de->d_type == DT_UNKNOWN && (errno == ENOTDIR || errno == ELOOP))
        ok = add_watch (w, dirfd (d), de->d_name, FILE_MASK | IN_DONT_FOLLOW, subpath, error);
      else
        ok = gen_throw_errno (error, "opening '%s'", subpath);
    }
  if (ok && errno != 0)
    ok = gen_throw_errno (error, "reading '%s'", path);
  closedir (d);
  return ok;
}

/* The walk of the folder open as @dfd, under the watches; again once the
 * racy window has passed, so that an entry written just before is not left
 * racy (and uncached) for as long as the watcher lives.  NULL when
 * something changed meanwhile. */
static char *
walk (Watcher *w, int dfd, GError **error)
{
  for (guint round = 0;; round++)
    {
      /* A description of its own: a dup would share the listing's offset. */
      int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        {
          gen_throw_errno (error, "reading '%s'", w->folder);
          return NULL;
        }
      g_autofree char *digest = gen_statcache_digest_fd (fd, w->folder, &w->racy, error);
      if (!digest || changed (w))
        return NULL;
      if (!w->racy || round > 0)
        return g_steal_pointer (&digest);
      g_usleep (2100 * G_TIME_SPAN_MILLISECOND);
    }
}

/* The watcher ends: its socket goes, then its lock, so that whoever finds
 * it gone can start another at once. */
static void
withdraw (Watcher *w)
{
  unlinkat (w->sysroot_dfd, w->sock_path, 0);
  flock (w->lock, LOCK_UN);
}

/* Answers one client: "digest" (the walk's, if nothing happened since),
 * "folder" (the folder's path, C-escaped) or "stop".  FALSE when the
 * watcher is done. */
static gboolean
answer (Watcher *w, int client)
{
  struct timeval timeout = { .tv_sec = ANSWER_TIMEOUT_S };
  char request[64] = "";
  if (!peer_is_us (client)
      || setsockopt (client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0
      || setsockopt (client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0
      || recv (client, request, sizeof request - 1, 0) <= 0)
    return TRUE;
  g_autofree char *reply = NULL;
  gboolean go_on = TRUE;
  gboolean digest = g_str_equal (request, "digest\n");
  if (digest && !changed (w))
    reply = g_strdup_printf ("digest %s %d %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
                             w->digest, w->racy ? 1 : 0, (guint64) w->top.st_dev,
                             (guint64) w->top.st_ino, (guint64) w->ns.st_dev,
                             (guint64) w->ns.st_ino);
  else if (g_str_equal (request, "folder\n"))
    {
      g_autofree char *escaped = g_strescape (w->folder, NULL);
      reply = g_strdup_printf ("folder %s\n", escaped);
    }
  else
    {
      /* "stop", or anything unknown, ends it too.  Withdrawn before the
       * answer: whoever reads it finds no watcher. */
      withdraw (w);
      reply = g_strdup (digest ? "changed\n" : "stopping\n");
      go_on = FALSE;
    }
  send (client, reply, strlen (reply), MSG_NOSIGNAL);
  return go_on;
}

/* Tells whoever waits on *@report_fd that the watcher is set (or not
 * needed), once. */
static void
report_ready (int *report_fd)
{
  if (*report_fd >= 0)
    {
      if (write (*report_fd, "ok\n", 3) < 0)
        {
          /* nobody waits any more (gen-watch ignores SIGPIPE) */
        }
      close (*report_fd);
      *report_fd = -1;
    }
}

/* How many inotify watches a watcher may set: fs.inotify.max_user_watches
 * (a limit per user) less a quarter of it, at least 8,192 (the kernel's
 * old default) but at most half, left to the user's other programs. */
static guint
watch_budget (void)
{
  g_autofree char *text = NULL;
  guint64 max = 8192;
  if (g_file_get_contents ("/proc/sys/fs/inotify/max_user_watches", &text, NULL, NULL))
    max = g_ascii_strtoull (text, NULL, 10);
  guint64 left = MIN (MAX (max / 4, (guint64) 8192), max / 2);
  return (guint) MIN (max - left, (guint64) G_MAXUINT);
}

/* Opens WATCH_DIR, making it if need be, and checks that only we can
 * enter it (a client trusts a socket there only then). */
static gboolean
prepare_watch_dir (int sysroot_dfd, GError **error)
{
  struct stat st;
  if (!gen_mkdir_p_at (sysroot_dfd, WATCH_DIR, 0700, error))
    return FALSE;
  if (fstatat (sysroot_dfd, WATCH_DIR, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return gen_throw_errno (error, "reading '%s'", WATCH_DIR);
  if (!private_dir (&st))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED,
                   "'%s' must be a folder only its owner can enter (mode 0700)", WATCH_DIR);
      return FALSE;
    }
  return TRUE;
}

gboolean
gen_watch_serve (int sysroot_dfd, const char *folder, int *report_fd, GError **error)
{
  int no_report = -1;
  if (!report_fd)
    report_fd = &no_report;
  g_autofree char *sock_path = watch_file (folder, ".sock");
  g_autofree char *lock_path = watch_file (folder, ".lock");
  struct sockaddr_un addr;
  if (!socket_address (sysroot_dfd, sock_path, &addr))
    {
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "the sysroot's path is too long for a socket");
      return FALSE;
    }
  if (!prepare_watch_dir (sysroot_dfd, error))
    return FALSE;
  gen_autofd lock = openat (sysroot_dfd, lock_path,
                            O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (lock < 0)
    return gen_throw_errno (error, "opening '%s'", lock_path);
  if (flock (lock, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno != EWOULDBLOCK)
        return gen_throw_errno (error, "locking '%s'", lock_path);
      report_ready (report_fd); /* another watcher has it */
      return TRUE;
    }

  gen_autofd ino = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0)
    return gen_throw_errno (error, "inotify");
  /* The sysroot's removal (a test's, say) ends the watcher too: unlinking
   * the lock file tells its watchers (IN_ATTRIB, the link count).  Not the
   * folder's own IN_DELETE_SELF: the bound socket keeps it from coming. */
  g_autofree char *lock_proc = g_strdup_printf ("/proc/self/fd/%d", lock);
  if (inotify_add_watch (ino, lock_proc, IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
    return gen_throw_errno (error, "watching '%s'", lock_path);
  /* poll() tells of a change to the mount table by POLLPRI on this file;
   * a mount over an entry of the tree makes no inotify event. */
  gen_autofd mounts = open ("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (mounts < 0)
    return gen_throw_errno (error, "opening /proc/self/mountinfo");
  Watcher w = { .sysroot_dfd = sysroot_dfd, .folder = folder, .sock_path = sock_path,
                .lock = lock, .ino = ino, .mounts = mounts, .budget = watch_budget () };
  if (!mount_ns (&w.ns))
    return gen_throw_errno (error, "reading /proc/self/ns/mnt");
  int top_fd = gen_open_dir_at (AT_FDCWD, folder, error);
  if (top_fd < 0)
    return FALSE;
  gen_autofd walk_fd = fcntl (top_fd, F_DUPFD_CLOEXEC, 3);
  if (walk_fd < 0 || fstat (top_fd, &w.top) < 0)
    {
      int errsv = errno;
      close (top_fd);
      errno = errsv;
      return gen_throw_errno (error, "reading '%s'", folder);
    }
  struct statx stx;
  if (statx (top_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID))
    w.mnt_id = stx.stx_mnt_id;
  g_autofree char *inside = mount_inside (&w.top, w.mnt_id);
  if (inside)
    {
      close (top_fd);
      g_set_error (error, GEN_ERROR, GEN_ERROR_FAILED, "'%s' has a mount point inside ('%s')",
                   folder, inside);
      return FALSE;
    }
  if (!watch_tree (&w, top_fd, folder, error))
    return FALSE;
  report_ready (report_fd);

  g_autofree char *digest = w.digest = walk (&w, walk_fd, error);
  if (!digest)
    {
      withdraw (&w);
      return error == NULL || *error == NULL; /* changed already: nothing to serve */
    }
  if (unlinkat (sysroot_dfd, sock_path, 0) < 0 && errno != ENOENT)
    return gen_throw_errno (error, "removing '%s'", sock_path);
  gen_autofd listener = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0 || bind (listener, (struct sockaddr *) &addr, sizeof addr) < 0)
    return gen_throw_errno (error, "listening on '%s'", sock_path);
  /* Its socket removed, it could never be reached: that ends it too. */
  g_autofree char *sock_proc = g_strdup_printf ("/proc/self/fd/%d/%s", sysroot_dfd, sock_path);
  if (inotify_add_watch (ino, sock_proc, IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0
      || listen (listener, 16) < 0)
    {
      gen_throw_errno (error, "listening on '%s'", sock_path);
      withdraw (&w);
      return FALSE;
    }
  for (;;)
    {
      struct pollfd fds[] = { { .fd = ino, .events = POLLIN },
                              { .fd = mounts, .events = POLLPRI },
                              { .fd = listener, .events = POLLIN } };
      if (poll (fds, G_N_ELEMENTS (fds), -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (fds[0].revents || (fds[2].revents & ~POLLIN))
        break;
      if (fds[1].revents)
        {
          g_autofree char *mounted = mount_inside (&w.top, w.mnt_id);
          if (mounted)
            break;
        }
      if (!(fds[2].revents & POLLIN))
        continue;
      int client = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
      if (client < 0 && (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED))
        continue;
      if (client < 0)
        break; /* out of fds or memory: not a loop at full speed */
      gboolean go_on = answer (&w, client);
      close (client);
      if (!go_on)
        return TRUE;
    }
  withdraw (&w);
  return TRUE;
}
