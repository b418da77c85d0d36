/* internal.h: helpers shared by the runtime's files, not part of its API. */
#ifndef ST_RUNTIME_INTERNAL_H
#define ST_RUNTIME_INTERNAL_H

/*
 * openat(root, rel, flags) as if 'root' were "/": symlinks and ".." never lead out of it.
 * Returns the fd, or -1 with errno set.
 */
int st_runtime_open_in_root(int root, const char *rel, int flags);

/* In a forked child, before exec (both are async-signal-safe): */
/* default signal dispositions and mask, so a program behaves as if started from a shell (the
 * caller may ignore SIGPIPE or block signals); */
void st_runtime_reset_signals(void);
/* close every fd from 'fd' up (close_range(2), Linux 5.9+; on older kernels the fds stay). */
void st_runtime_close_from(int fd);

/* seccomp.c: Docker's default seccomp profile (the OCI "seccomp" object, new) for a process
 * whose bounding capabilities are 'caps' (a JSON array of "CAP_..." names). */
#include <jansson.h>
json_t *st_runtime_seccomp_default(const json_t *caps);

#endif
