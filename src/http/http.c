/*
 * http.c: requests over libcurl with connection reuse, retries, resumption and auth hooks.
 *
 * One curl share per client holds the connection pool, the DNS cache and TLS sessions, so the
 * easy handle of each attempt (a fresh one: nothing leaks from one request into the next) finds
 * the connection the last request left open. The share's locks make a client usable from
 * several threads at once.
 *
 * Retries follow what registries and CDNs expect of a client (the distribution spec, Docker's
 * and containerd's pullers): a connection that fails or stalls, a 429 and the 5xx statuses that
 * mean "try again" are retried with exponential backoff; Retry-After, when the server sends
 * one, replaces the backoff. A download that dropped after some bytes reached the sink goes on
 * with "Range: bytes=N-"; a server that answers with the whole body instead makes the sink
 * start over (or, if it cannot, the transfer error stands).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BACKOFF_MS 250
#define DEFAULT_MAX_BACKOFF_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_S 30L
#define DEFAULT_STALL_TIMEOUT_S 60L
#define MAX_REDIRS 10L
/* Of a body nobody asked for (an error page), this much is kept for messages. */
#define ERROR_BODY_MAX (64 * 1024)

struct st_http_client {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	struct st_http_client_opts o;
	char *user_agent, *ca_file, *cert_file, *key_file;
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	struct st_http_client *c = ctx;
	pthread_mutex_lock(&c->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	struct st_http_client *c = ctx;
	pthread_mutex_unlock(&c->locks[data]);
}

static char *dup_or_null(const char *s)
{
	return s ? st_xstrdup(s) : NULL;
}

struct st_http_client *st_http_client_new(const struct st_http_client_opts *o,
					  struct st_error **err)
{
	/* Reference-counted and thread-safe in the libcurl strata builds against (7.84+). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		st_err(err, ST_E_NET, "cannot initialise libcurl");
		return NULL;
	}
	struct st_http_client *c = st_xcalloc(1, sizeof(*c));
	if (o)
		c->o = *o;
	c->user_agent = st_xstrdup(o && o->user_agent ? o->user_agent : "strata/" STRATA_VERSION);
	c->ca_file = dup_or_null(o ? o->ca_file : NULL);
	c->cert_file = dup_or_null(o ? o->cert_file : NULL);
	c->key_file = dup_or_null(o ? o->key_file : NULL);
	if (!c->o.max_attempts)
		c->o.max_attempts = DEFAULT_ATTEMPTS;
	if (!c->o.backoff_ms)
		c->o.backoff_ms = DEFAULT_BACKOFF_MS;
	if (!c->o.max_backoff_ms)
		c->o.max_backoff_ms = DEFAULT_MAX_BACKOFF_MS;
	if (!c->o.connect_timeout_s)
		c->o.connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	if (!c->o.stall_timeout_s)
		c->o.stall_timeout_s = DEFAULT_STALL_TIMEOUT_S;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	c->share = curl_share_init();
	if (!c->share) {
		st_http_client_free(c);
		st_err(err, ST_E_NET, "cannot initialise libcurl");
		return NULL;
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return c;
}

void st_http_client_free(struct st_http_client *c)
{
	if (!c)
		return;
	if (c->share)
		curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c->user_agent);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
	curl_global_cleanup();
}

void st_http_client_freep(struct st_http_client **c)
{
	st_http_client_free(*c);
	*c = NULL;
}

const char *st_http_response_header(const struct st_http_response *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *h = r->headers[i];
		if (!strncasecmp(h, name, n) && h[n] == ':')
			return h + n + 1 + strspn(h + n + 1, " \t");
	}
	return NULL;
}

static void headers_clear(struct st_http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

void st_http_response_release(struct st_http_response *r)
{
	headers_clear(r);
	st_buf_release(&r->body);
	r->status = 0;
	r->mtime = -1;
}

static const char *status_text(long code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

int st_http_status_error(const struct st_http_response *r, struct st_error **err)
{
	const char *t = status_text(r->status);
	return st_err(err, r->status == 404 || r->status == 410 ? ST_E_NOTFOUND : ST_E_NET,
		      "server returned HTTP %ld%s%s", r->status, *t ? " " : "", t);
}

/* The state of one request across its attempts. */
struct xfer {
	const struct st_http_request *rq;
	struct st_http_response *resp;
	CURL *h;
	uint64_t delivered; /* body bytes handed to the sink (or kept), over every attempt */
	uint64_t offset;    /* where this attempt's body starts: the Range asked for */
	bool body_ok;	    /* this response's body is the one wanted (2xx, and the right range) */
	struct st_error *cb_err; /* a callback's error, which ends the request */
	bool canceled;
	struct st_buf errbody; /* the start of an unwanted body, for the caller's message */
	/* the request body */
	size_t mem_off;
};

static int sink_reset(struct xfer *x, struct st_error **err)
{
	if (!x->rq->sink.write) {
		st_buf_release(&x->resp->body);
		return 0;
	}
	if (!x->rq->sink.reset)
		return st_err(
		    err, ST_E_NET,
		    "%s: the server sent the whole body again and the transfer cannot restart",
		    x->rq->url);
	return x->rq->sink.reset(x->rq->sink.ctx, err);
}

/*
 * The headers of a response are complete: decide whether its body is wanted. A resumed
 * request must get 206 from where it asked; a 200 is the whole body again.
 */
static void headers_done(struct xfer *x)
{
	long s = x->resp->status;
	x->body_ok = s >= 200 && s <= 299;
	if (!x->body_ok || x->offset == 0)
		return;
	if (s == 206) {
		const char *cr = st_http_response_header(x->resp, "content-range");
		unsigned long long start = 0;
		if (cr && sscanf(cr, "bytes %llu-", &start) == 1 && start == x->offset)
			return;
		st_err(&x->cb_err, ST_E_NET, "the server resumed at the wrong offset (%s)",
		       cr ? cr : "no Content-Range");
		return;
	}
	x->delivered = 0;
	if (sink_reset(x, &x->cb_err) < 0)
		x->body_ok = false;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb, len = n;
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* A new response (after a redirect, a 100 Continue or a 401): its own headers. */
		headers_clear(x->resp);
		const char *sp = memchr(p, ' ', len);
		x->resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->body_ok = false;
		return n;
	}
	if (len == 0) {
		headers_done(x);
		return x->cb_err ? 0 : n;
	}
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return n;
	char *h = st_xstrndup(p, len);
	for (char *q = h; q < h + (colon - p); q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	x->resp->headers =
	    st_xrealloc(x->resp->headers, (x->resp->n_headers + 1) * sizeof(*x->resp->headers));
	x->resp->headers[x->resp->n_headers++] = h;
	return n;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb;
	if (x->cb_err)
		return 0;
	if (!x->body_ok) {
		/* A status the caller will judge: keep the start of the body for its message. */
		size_t room = x->errbody.len < ERROR_BODY_MAX ? ERROR_BODY_MAX - x->errbody.len : 0;
		st_buf_add(&x->errbody, p, n < room ? n : room);
		return n;
	}
	if (x->rq->sink.write) {
		if (x->rq->sink.write(x->rq->sink.ctx, p, n, &x->cb_err) < 0)
			return 0; /* curl stops with CURLE_WRITE_ERROR */
	} else {
		st_buf_add(&x->resp->body, p, n);
	}
	x->delivered += n;
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nitems;
	const struct st_http_request *rq = x->rq;
	if (rq->body_reader) {
		ssize_t r = rq->body_reader->read(rq->body_reader->ctx, buf, n, &x->cb_err);
		return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
	}
	size_t k = rq->body_len - x->mem_off;
	if (k > n)
		k = n;
	memcpy(buf, (const char *)rq->body + x->mem_off, k);
	x->mem_off += k;
	return k;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ctx;
	if (st_cancel_signal()) { /* curl polls this about once a second, and on every chunk */
		x->canceled = true;
		return 1;
	}
	if (!x->rq->progress || !x->body_ok)
		return 0;
	uint64_t total = dltotal > 0 ? x->offset + (uint64_t)dltotal : 0;
	if (x->rq->progress(x->rq->progress_ctx, x->offset + (uint64_t)dlnow, total) != 0) {
		x->canceled = true;
		return 1;
	}
	return 0;
}

static bool has_body(const struct st_http_request *rq)
{
	return rq->body_reader || rq->body;
}

static const char *method_of(const struct st_http_request *rq)
{
	return rq->method ? rq->method : has_body(rq) ? "PUT" : "GET";
}

/* Set up x->h for one attempt; 'authorization' and the Range come from earlier attempts. */
static struct curl_slist *prepare(struct st_http_client *c, struct xfer *x,
				  const char *authorization, char *errbuf)
{
	const struct st_http_request *rq = x->rq;
	CURL *h = x->h;
	const char *m = method_of(rq);
	struct curl_slist *hl = NULL;
	for (const char *const *p = rq->headers; p && *p; p++)
		hl = curl_slist_append(hl, *p);
	if (authorization) {
		st_autofree char *a = st_xasprintf("Authorization: %s", authorization);
		hl = curl_slist_append(hl, a);
	}
	if (x->offset) {
		char r[64];
		snprintf(r, sizeof(r), "Range: bytes=%llu-", (unsigned long long)x->offset);
		hl = curl_slist_append(hl, r);
	}
	/* Waiting for "100 Continue" costs a round trip (or a second) on every upload. */
	hl = curl_slist_append(hl, "Expect:");

	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	if (rq->flags & ST_HTTP_FOLLOW) {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, MAX_REDIRS);
	}
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->o.connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o.stall_timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	const struct st_http_tls *tls = rq->tls;
	const char *ca = tls && tls->ca_file ? tls->ca_file : c->ca_file;
	const char *cert = tls && tls->cert_file ? tls->cert_file : c->cert_file;
	const char *key = tls && tls->cert_file ? tls->key_file : c->key_file;
	if (ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	if (cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
	if (key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, key);
	if (c->o.insecure || (tls && tls->insecure)) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (has_body(rq)) {
		curl_off_t size =
		    (curl_off_t)(rq->body_reader ? rq->body_reader->size : rq->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		if (!strcmp(m, "POST")) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, size);
		} else {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
		}
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(m, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	return hl;
}

static bool retryable_status(long s)
{
	return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool retryable_curl(CURLcode cr)
{
	switch (cr) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Retry-After in milliseconds (seconds or an HTTP date); 0 when absent or in the past. */
static unsigned long retry_after_ms(const struct st_http_response *r)
{
	const char *v = st_http_response_header(r, "retry-after");
	if (!v)
		return 0;
	char *end;
	unsigned long s = strtoul(v, &end, 10);
	if (end != v && (*end == 0 || *end == ' ' || *end == '\r'))
		return s * 1000;
	time_t t = curl_getdate(v, NULL);
	time_t now = time(NULL);
	return t > now ? (unsigned long)(t - now) * 1000 : 0;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && !st_cancel_signal())
		;
}

/* Whether another attempt can be made at all: the body can be sent again, from its start. */
static int rewind_body(struct xfer *x, struct st_error **err)
{
	x->mem_off = 0;
	const struct st_http_body_reader *br = x->rq->body_reader;
	if (br && br->rewind)
		return br->rewind(br->ctx, err);
	return 0;
}

static bool can_retry(const struct st_http_request *rq)
{
	if (rq->flags & ST_HTTP_NO_RETRY)
		return false;
	return !rq->body_reader || rq->body_reader->rewind;
}

/* After an attempt: 0 for "return the response", 1 for "try again", -1 for an error. */
static int judge(struct xfer *x, CURLcode cr, const char *errbuf, bool more, bool resumable,
		 unsigned long *wait, struct st_error **err)
{
	const struct st_http_request *rq = x->rq;
	if (x->cb_err) { /* the sink's or a check's: about the content, which the caller names */
		*err = x->cb_err;
		x->cb_err = NULL;
		return -1;
	}
	if (x->canceled)
		return st_cancel_signal() ? st_cancel_check(err)
					  : st_err(err, ST_E_NET, "%s: canceled", rq->url);
	if (cr != CURLE_OK) {
		if (retryable_curl(cr) && more && (!x->delivered || resumable))
			return 1;
		return st_err(err, ST_E_NET, "%s: %s", rq->url,
			      *errbuf ? errbuf : curl_easy_strerror(cr));
	}
	if (!retryable_status(x->resp->status) || !more)
		return 0;
	unsigned long ra = retry_after_ms(x->resp);
	if (ra)
		*wait = ra;
	return 1;
}

int st_http_do(struct st_http_client *c, const struct st_http_request *rq,
	       struct st_http_response *resp, struct st_error **err)
{
	memset(resp, 0, sizeof(*resp));
	resp->mtime = -1;
	struct xfer x = { .rq = rq, .resp = resp };
	st_autofree char *authorization = rq->authorization ? st_xstrdup(rq->authorization) : NULL;
	bool auth_tried = false;
	unsigned long backoff = c->o.backoff_ms;
	bool resumable = !has_body(rq) && !strcmp(method_of(rq), "GET");
	int rc;

	for (unsigned attempt = 1;; attempt++) {
		char errbuf[CURL_ERROR_SIZE] = "";
		x.offset = resumable ? x.delivered : 0;
		x.body_ok = false;
		resp->attempts = attempt;
		headers_clear(resp);
		st_buf_release(&x.errbody);
		if (rewind_body(&x, err) < 0) {
			rc = -1;
			break;
		}
		x.h = curl_easy_init();
		if (!x.h) {
			rc = st_err(err, ST_E_NET, "%s: cannot initialise libcurl", rq->url);
			break;
		}
		struct curl_slist *hl = prepare(c, &x, authorization, errbuf);
		CURLcode cr = curl_easy_perform(x.h);
		curl_off_t ft = -1;
		if (cr == CURLE_OK && curl_easy_getinfo(x.h, CURLINFO_FILETIME_T, &ft) == CURLE_OK)
			resp->mtime = ft >= 0 ? (int64_t)ft : -1;
		curl_easy_cleanup(x.h);
		curl_slist_free_all(hl);
		x.h = NULL;

		if (cr == CURLE_OK && resp->status == 401 && rq->auth && !auth_tried && !x.cb_err) {
			const char *ch = st_http_response_header(resp, "www-authenticate");
			char *a = NULL;
			auth_tried = true;
			if (rq->auth(rq->auth_ctx, ch ? ch : "", &a, err) < 0) {
				rc = st_err_wrap(err, "%s", rq->url);
				break;
			}
			if (a) {
				free(authorization);
				authorization = a;
				attempt--; /* answering a challenge is not a failed attempt */
				continue;
			}
		}
		unsigned long wait = backoff;
		bool more = attempt < c->o.max_attempts && can_retry(rq);
		rc = judge(&x, cr, errbuf, more, resumable, &wait, err);
		if (rc <= 0)
			break;
		sleep_ms(wait < c->o.max_backoff_ms ? wait : c->o.max_backoff_ms);
		if ((rc = st_cancel_check(err)) < 0)
			break;
		backoff *= 2;
	}
	if (rc == 0 && !x.body_ok) {
		/* The caller gets the body of the status it will judge, not a partial wanted one.
		 */
		st_buf_release(&resp->body);
		resp->body = x.errbody;
	} else {
		st_buf_release(&x.errbody);
	}
	return rc;
}
