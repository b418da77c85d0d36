/* err.h: the one error type of strata: a kind, an errno and a message chain. */
#ifndef ST_UTIL_ERR_H
#define ST_UTIL_ERR_H

#include <stdarg.h>

enum st_errkind {
	ST_E_IO = 1,
	ST_E_PARSE,
	ST_E_NOTFOUND,
	ST_E_INVALID,
	ST_E_DIGEST,
	ST_E_NET,
	ST_E_RUNTIME,
	ST_E_EXISTS,
	ST_E_BUSY,
	ST_E_USAGE,    /* bad command-line usage */
	ST_E_CANCELED, /* stopped by SIGINT, SIGTERM or SIGPIPE (util/cancel.h) */
};

struct st_error {
	enum st_errkind kind;
	int errnum; /* errno at the origin, 0 if none */
	char *msg;  /* "outer: ...: inner" */
};

/*
 * Set *err to a new error of 'kind' with a printf-style message and return -1.
 * If 'err' is NULL the error is dropped. If *err is already set it is replaced.
 */
int st_err(struct st_error **err, enum st_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like st_err() with kind ST_E_IO, keeping errno and appending ": strerror(errno)". */
int st_err_errno(struct st_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix "<context>: " to the message of *err (which must be set) and return -1. */
int st_err_wrap(struct st_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Free an error; NULL does nothing. */
void st_error_free(struct st_error *err);
void st_error_freep(struct st_error **err);

/* Drop *err (free it and set it to NULL). */
void st_error_clear(struct st_error **err);

#endif
