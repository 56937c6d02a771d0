/* A shim for tests (LD_PRELOAD): flock fails with ENOSYS, as on a Lustre file system mounted
   without the flock option. Everything else is the C library's. */
#include <errno.h>

int flock(int fd, int operation) {
  (void)fd;
  (void)operation;
  errno = ENOSYS;
  return -1;
}
