#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/banned.h"

static int set(struct st_error **err, enum st_errkind kind, int errnum, char *msg)
{
	if (!err) {
		free(msg);
		return -1;
	}
	if (*err)
		st_error_free(*err);
	struct st_error *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->kind = kind;
	e->errnum = errnum;
	e->msg = msg;
	*err = e;
	return -1;
}

int st_err(struct st_error **err, enum st_errkind kind, const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return set(err, kind, 0, st_buf_detach(&b, NULL));
}

int st_err_errno(struct st_error **err, const char *fmt, ...)
{
	int saved = errno;
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	st_buf_addf(&b, ": %s", strerror(saved));
	set(err, ST_E_IO, saved, st_buf_detach(&b, NULL));
	errno = saved;
	return -1;
}

int st_err_wrap(struct st_error **err, const char *fmt, ...)
{
	if (!err)
		return -1;
	if (!*err)
		return st_err(err, ST_E_INVALID, "unknown error");
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	st_buf_addf(&b, ": %s", (*err)->msg ? (*err)->msg : "");
	free((*err)->msg);
	(*err)->msg = st_buf_detach(&b, NULL);
	return -1;
}

void st_error_free(struct st_error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

void st_error_freep(struct st_error **err)
{
	st_error_free(*err);
}

void st_error_clear(struct st_error **err)
{
	if (err && *err) {
		st_error_free(*err);
		*err = NULL;
	}
}
