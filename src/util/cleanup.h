/* cleanup.h: scope-bound cleanup (GCC/Clang cleanup attribute), one macro per type. */
#ifndef ST_UTIL_CLEANUP_H
#define ST_UTIL_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void st_freep(void *p)
{
	free(*(void **)p);
}

static inline void st_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define st_autofree __attribute__((cleanup(st_freep)))
#define st_autoclose __attribute__((cleanup(st_closep)))
/* For a type 'st_x' with 'void st_x_freep(struct st_x **)'. */
#define st_auto(type) __attribute__((cleanup(type##_freep)))

/* Move ownership out of an auto variable: returns *pp and sets *pp = NULL. */
#define st_steal(pp)                                                                               \
	({                                                                                         \
		__typeof__(*(pp)) st_steal_tmp_ = *(pp);                                           \
		*(pp) = NULL;                                                                      \
		st_steal_tmp_;                                                                     \
	})

/* Move a file descriptor out of an st_autoclose variable. */
#define st_steal_fd(pfd)                                                                           \
	({                                                                                         \
		int st_steal_fd_ = *(pfd);                                                         \
		*(pfd) = -1;                                                                       \
		st_steal_fd_;                                                                      \
	})

#endif
