/*
 * cancel.h: stopping a command on SIGINT, SIGTERM or SIGPIPE.
 *
 * The CLI installs the handlers once; the handler only records which signal came. Long work
 * (tar walks, layer extraction, blob copies, build steps, a running container) asks
 * st_cancel_check() where it loops and unwinds with ST_E_CANCELED, so every cleanup on the way
 * out (temporary trees, mounts, temp files) runs as it does on any other error.
 */
#ifndef ST_UTIL_CANCEL_H
#define ST_UTIL_CANCEL_H

#include <stdbool.h>

#include "util/err.h"

/*
 * Catch SIGINT, SIGTERM and SIGPIPE. The SIGINT and SIGTERM handlers are reset after their
 * first signal, so a second Ctrl-C stops the process at once. Not SA_RESTART: a blocked read or
 * wait returns EINTR and its caller gets to look at the flag.
 */
void st_cancel_install(void);

/* The first signal that asked to stop, or 0. */
int st_cancel_signal(void);

/*
 * Once cleaned up, end the process by the signal that asked to stop, with its default action:
 * the parent (a shell, `timeout`, CI) then sees the process killed by it (exit status 130 for
 * SIGINT, 141 for SIGPIPE, 143 for SIGTERM), and a shell running a script stops on Ctrl-C.
 * Returns only when no signal came.
 */
void st_cancel_raise(void);

/* -1 with ST_E_CANCELED "canceled" once a signal asked to stop; else 0. */
int st_cancel_check(struct st_error **err);

#endif
