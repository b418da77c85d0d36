/* fmt.h: how verbs print for people: Docker's sizes, "ago" times, and aligned tables. */
#ifndef ST_CLI_FMT_H
#define ST_CLI_FMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/* Docker's units.HumanSizeWithPrecision(n, 3): "4.26MB", "0B" (decimal units). New string. */
char *st_fmt_size(uint64_t n);
/* Docker's units.HumanDuration: "2 months", "About an hour". New string. */
char *st_fmt_duration(long long seconds);
/* "2 months ago" for an RFC 3339 time, or "N/A" if it does not parse. New string. */
char *st_fmt_since(const char *rfc3339, time_t now);
/* Parse RFC 3339 ("2023-11-14T22:13:20.123Z", "+01:00" offsets). -1 if malformed. */
int st_fmt_parse_time(const char *s, time_t *out);
/* A Go duration, as Docker's flags take them ("1m30s", "500ms", "2h"), in nanoseconds; a bad
 * one is ST_E_USAGE naming 'flag'. */
int st_fmt_parse_duration(const char *flag, const char *s, int64_t *out, struct st_error **err);
/* Format 't' as RFC 3339 in UTC with nanoseconds as Go's time.RFC3339Nano prints them. New string.
 */
char *st_fmt_time(time_t t, long nsec);
/* Go's time.Time.String() in the local zone, as `docker images` prints CreatedAt:
 * "2023-11-14 23:13:20 +0100 CET". New string. */
char *st_fmt_go_string(time_t t);
/* Go's time.RFC3339 in the local zone, as `docker history` prints CreatedAt:
 * "2023-11-14T23:13:20+01:00", "...Z" in UTC. New string. */
char *st_fmt_rfc3339_local(time_t t);
/* The first 12 hex characters of "sha256:<hex>" (or of bare hex). New string. */
char *st_fmt_short_id(const char *digest);

/*
 * An aligned table as Go's tabwriter(minwidth 10, padding 3) prints it for `docker images`:
 * add cells row by row, then print. Cells are copied.
 */
struct st_table {
	size_t ncols;
	size_t nrows;
	char **cells; /* nrows * ncols */
};

void st_table_init(struct st_table *t, size_t ncols);
/* Add one row of exactly t->ncols cells; NULL cells print as "". */
void st_table_add(struct st_table *t, const char *const *row);
void st_table_print(const struct st_table *t, FILE *out);
void st_table_release(struct st_table *t);

/* Unescape "\t" and "\n" in a --format string as Docker's CLI does before parsing it. New string.
 */
char *st_fmt_unescape(const char *s);

#endif
