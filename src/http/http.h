/*
 * http.h: the one HTTP client of strata, over libcurl, for every module that talks to a server
 * (ADD of URLs, registries).
 *
 * A client keeps connections, DNS answers and TLS sessions between requests (and between the
 * threads that share it), retries what is worth retrying with exponential backoff (connection
 * failures, timeouts, 429 honouring Retry-After, 500/502/503/504), resumes a download that
 * dropped with a Range request, and takes proxies from the environment as curl does
 * (http_proxy, https_proxy, HTTPS_PROXY, no_proxy). Authentication is the caller's: a hook
 * answers a 401's challenge with an Authorization value and the request is sent once more.
 */
#ifndef ST_HTTP_HTTP_H
#define ST_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

struct st_http_client_opts {
	const char *user_agent;	 /* NULL: "strata/<version>" */
	const char *ca_file;	 /* CA bundle to trust as well as the system's; NULL: none */
	const char *cert_file;	 /* client certificate (PEM) for mutual TLS; NULL: none */
	const char *key_file;	 /* its key (PEM) */
	bool insecure;		 /* do not verify TLS peers (a registry's --tls-verify=false) */
	unsigned max_attempts;	 /* tries per request, the first included; 0: 5 */
	unsigned backoff_ms;	 /* wait before the first retry, doubled each time; 0: 250 */
	unsigned max_backoff_ms; /* cap of a wait, Retry-After included; 0: 30000 */
	long connect_timeout_s;	 /* 0: 30 */
	long stall_timeout_s;	 /* an attempt that moves no byte for this long fails; 0: 60 */
};

struct st_http_client;

/* A new client. 'o' may be NULL (every default). Free with st_http_client_free(). */
struct st_http_client *st_http_client_new(const struct st_http_client_opts *o,
					  struct st_error **err);
void st_http_client_free(struct st_http_client *c);
void st_http_client_freep(struct st_http_client **c);

/* Where the body of a successful (2xx) response goes. */
struct st_http_sink {
	/* Each chunk in order. -1 with *err set stops the transfer; the request fails with it. */
	int (*write)(void *ctx, const void *p, size_t n, struct st_error **err);
	/*
	 * The server is about to send the body again from its start (it answered a resumed
	 * request with the whole body): forget what was written. NULL: such a retry is not
	 * possible and the transfer error stands.
	 */
	int (*reset)(void *ctx, struct st_error **err);
	void *ctx;
};

/* A request body read as it is sent, for uploads too big for memory. */
struct st_http_body_reader {
	/* Up to 'n' bytes into 'buf'; 0 at the end, -1 with *err set on failure. */
	ssize_t (*read)(void *ctx, void *buf, size_t n, struct st_error **err);
	/* Back to the start, for a retry. NULL: a request with this body is not retried. */
	int (*rewind)(void *ctx, struct st_error **err);
	void *ctx;
	uint64_t size; /* sent as Content-Length */
};

enum st_http_flags {
	ST_HTTP_FOLLOW = 1 << 0,   /* follow redirects (up to 10) */
	ST_HTTP_NO_RETRY = 1 << 1, /* one attempt only */
};

/* TLS settings of one request, over the client's (a registry's own CA or client certificate). */
struct st_http_tls {
	const char *ca_file;   /* NULL: the client's */
	const char *cert_file; /* NULL: the client's */
	const char *key_file;
	bool insecure; /* do not verify the peer, whatever the client says */
};

struct st_http_request {
	const char *method;	    /* NULL: GET, or PUT when a body is given */
	const char *url;	    /* http:// or https:// only */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;	    /* request body in memory, 'body_len' bytes; or: */
	size_t body_len;
	const struct st_http_body_reader *body_reader; /* a streamed request body */
	struct st_http_sink sink;  /* NULL write: a 2xx body is kept in the response */
	unsigned flags;		   /* enum st_http_flags */
	const char *authorization; /* "Authorization: <this>" from the first attempt, or NULL */
	/*
	 * On a 401, called with the response's WWW-Authenticate header ("" when there is none).
	 * Set *authorization (new) to retry the request once with "Authorization: <value>" in
	 * place of the one above, or leave it NULL to return the 401. NULL hook: a 401 is returned.
	 */
	int (*auth)(void *ctx, const char *challenge, char **authorization, struct st_error **err);
	void *auth_ctx;
	const struct st_http_tls *tls; /* NULL: the client's settings */
	/* Bytes of the response body so far and its total (0: unknown); non-zero cancels. */
	int (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

struct st_http_response {
	long status;	    /* of the final response */
	struct st_buf body; /* a 2xx body when no sink was given; the start of any other body */
	char **headers;	    /* of the final response: "name: value", the name in lower case */
	size_t n_headers;
	int64_t mtime;	   /* Last-Modified as seconds since the epoch; -1 if none */
	unsigned attempts; /* how many were made */
};

/* Borrowed: the value of header 'name' (any case) of the final response, or NULL. */
const char *st_http_response_header(const struct st_http_response *r, const char *name);
void st_http_response_release(struct st_http_response *r);

/*
 * Send 'rq' and wait for its response. Returns 0 when a response arrived, whatever its status:
 * the caller decides what a 404 means (st_http_status_error() words it). -1 with ST_E_NET when
 * none did after every attempt (the last failure in the message), or with the sink's or the
 * hooks' error. *resp is always initialised; release it with st_http_response_release().
 */
int st_http_do(struct st_http_client *c, const struct st_http_request *rq,
	       struct st_http_response *resp, struct st_error **err);

/*
 * An error for a response the caller did not want: "server returned HTTP 404 Not Found",
 * ST_E_NOTFOUND for 404 and 410, ST_E_NET otherwise. Returns -1.
 */
int st_http_status_error(const struct st_http_response *r, struct st_error **err);

#endif
