#include "util/cancel.h"

#include <signal.h>
#include <string.h>

#include "util/banned.h"

/* The one thing a handler may touch; the rest of strata reads it through st_cancel_signal(). */
static volatile sig_atomic_t received;

static void on_signal(int sig)
{
	if (!received)
		received = sig;
}

void st_cancel_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Every later write to the closed pipe must fail with EPIPE too, not kill the cleanup. */
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int st_cancel_signal(void)
{
	return received;
}

void st_cancel_raise(void)
{
	int sig = received;
	if (!sig)
		return;
	signal(sig, SIG_DFL);
	raise(sig);
}

int st_cancel_check(struct st_error **err)
{
	if (!received)
		return 0;
	return st_err(err, ST_E_CANCELED, "canceled");
}
