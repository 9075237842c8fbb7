/* gen-watch SYSROOT FOLDER: the watcher `gen switch --watch` starts (see
 * gen-watch.h).  Not a command for people: it checks its arguments, says
 * what is wrong on stderr, then leaves the caller's session and answers
 * switches until the folder changes. */
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "gen-util.h"
#include "gen-watch.h"

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
  int folder_fd = sysroot_dfd < 0 ? -1 : gen_open_dir_at (AT_FDCWD, argv[2], &error);
  if (folder_fd < 0)
    {
      fprintf (stderr, "gen-watch: %s\n", error->message);
      return 1;
    }
  close (folder_fd);

  /* The caller waits for this process only: the watcher is its child, in a
   * session of its own, with nothing of the caller's open (a test's output
   * pipe would stay open until it ended). */
  pid_t pid = fork ();
  if (pid < 0)
    {
      perror ("gen-watch: fork");
      return 1;
    }
  if (pid > 0)
    return 0;
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (setsid () < 0 || chdir ("/") < 0 || null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0
      || dup2 (null, 2) < 0)
    _exit (1);
  close (null);
  return gen_watch_serve (sysroot_dfd, argv[2], NULL) ? 0 : 1;
}
