/* gen-watch SYSROOT FOLDER: the watcher `gen switch --watch` starts (see
 * gen-watch.h).  Not a command for people.  It forks the watcher, which
 * leaves the caller's session, and waits until the watcher has set its
 * watches: it exits 0 then, or prints why it could not on stderr and exits
 * 1.  The walk, and the answers, go on in the watcher. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gen-util.h"
#include "gen-watch.h"

/* The watcher: answers until the folder changes.  Whatever went wrong
 * before its watches were set goes to @report, one line. */
static int
watcher (int sysroot_dfd, const char *folder, int report)
{
  /* Its caller may be gone before the report (and a client before its
   * answer, which send() covers): no SIGPIPE. */
  signal (SIGPIPE, SIG_IGN);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (setsid () < 0 || chdir ("/") < 0 || null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0
      || dup2 (null, 2) < 0)
    return 1;
  close (null);
  g_autoptr (GError) error = NULL;
  if (gen_watch_serve (sysroot_dfd, folder, &report, &error))
    return 0;
  if (report >= 0)
    {
      g_autofree char *line = g_strdup_printf ("%s\n", error->message);
      if (write (report, line, strlen (line)) < 0)
        return 1;
    }
  return 1;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc != 3 || !g_path_is_absolute (argv[2]))
    {
      fprintf (stderr, "usage: gen-watch SYSROOT /FOLDER (started by 'gen switch --watch')\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  int sysroot_dfd = gen_open_dir_at (AT_FDCWD, argv[1], &error);
  if (sysroot_dfd < 0)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  int report[2];
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      perror ("pipe");
      return 1;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      perror ("fork");
      return 1;
    }
  if (pid == 0)
    {
      close (report[0]);
      _exit (watcher (sysroot_dfd, argv[2], report[1]));
    }
  close (report[1]);
  g_autoptr (GString) said = g_string_new (NULL);
  char buf[512];
  ssize_t n;
  while ((n = read (report[0], buf, sizeof buf)) != 0)
    if (n > 0)
      g_string_append_len (said, buf, n);
    else if (errno != EINTR)
      break;
  if (g_str_equal (said->str, "ok\n"))
    return 0;
  fprintf (stderr, "%s", said->len ? said->str : "the watcher ended before its watches were set\n");
  return 1;
}
