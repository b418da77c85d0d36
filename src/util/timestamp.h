/* timestamp.h: the times strata writes and reads: SOURCE_DATE_EPOCH and RFC 3339. */
#ifndef ST_UTIL_TIMESTAMP_H
#define ST_UTIL_TIMESTAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

/*
 * Seconds since the epoch, as SOURCE_DATE_EPOCH and --source-date-epoch give them: digits only,
 * no sign, no trailing text. ST_E_INVALID naming 'what' and the value otherwise.
 */
int st_time_parse_epoch(const char *s, const char *what, int64_t *out, struct st_error **err);

/*
 * $SOURCE_DATE_EPOCH: *set is false (and *out 0) when it is unset or empty; a value that is not
 * an epoch is an error, never a silent 0.
 */
int st_time_source_date_epoch(int64_t *out, bool *set, struct st_error **err);

/*
 * New: RFC 3339 in UTC as Go's time.RFC3339Nano writes it (Docker's "Created"):
 * "2024-01-02T03:04:05Z", or with the fraction's trailing zeros dropped, "...05.12Z".
 */
char *st_time_rfc3339(time_t sec, long nsec);

#endif
