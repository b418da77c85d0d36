/*
 * events.h: what a long operation (pull, push, copy, load, save, import, an analysis) reports
 * while it works, for the CLI to show as Docker does: a status per item ("Pull complete",
 * "Loading layer") and, as they move, the bytes of an item. The library never prints: it
 * emits here, and the caller renders (cli/layer_progress.c) or ignores.
 *
 * 'id' names the item: a short (12 hex digit) digest for a layer, "" for the operation as a
 * whole. Strings are borrowed for the duration of a call. Calls are serialized: an operation
 * that works on several threads takes a lock around them.
 */
#ifndef ST_UTIL_EVENTS_H
#define ST_UTIL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_events {
	/* Item 'id' is now at 'status'. NULL: statuses are not wanted. */
	void (*fn)(void *ctx, const char *id, const char *status);
	void *ctx;
	/* May be NULL: the bytes of item 'id' moved so far, of 'total' (0 when unknown), as
	 * they move (a restarted transfer starts again from 0). */
	void (*bytes)(void *ctx, const char *id, uint64_t done, uint64_t total);
};

/* A NULL sink, or one without the callback, is valid and hears nothing. */
static inline void st_events_status(const struct st_events *ev, const char *id, const char *status)
{
	if (ev && ev->fn)
		ev->fn(ev->ctx, id, status);
}

static inline void st_events_bytes(const struct st_events *ev, const char *id, uint64_t done,
				   uint64_t total)
{
	if (ev && ev->bytes)
		ev->bytes(ev->ctx, id, done, total);
}

/* Whether anyone listens (to skip the work of preparing what would be emitted). */
static inline bool st_events_on(const struct st_events *ev)
{
	return ev && (ev->fn || ev->bytes);
}

/* The id of a layer whose digest's hex is 'hex': its first 12 digits, as Docker shows it. */
#define ST_EVENTS_ID_LEN 12
static inline void st_events_short_id(const char *hex, char out[ST_EVENTS_ID_LEN + 1])
{
	size_t i = 0;
	for (; i < ST_EVENTS_ID_LEN && hex[i]; i++)
		out[i] = hex[i];
	out[i] = '\0';
}

#endif
