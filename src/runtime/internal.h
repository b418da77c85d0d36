/* internal.h: helpers shared by the runtime's files, not part of its API. */
#ifndef ST_RUNTIME_INTERNAL_H
#define ST_RUNTIME_INTERNAL_H

/*
 * openat(root, rel, flags) as if 'root' were "/": symlinks and ".." never lead out of it.
 * Returns the fd, or -1 with errno set.
 */
int st_runtime_open_in_root(int root, const char *rel, int flags);

#endif
