/* timestamp.c: SOURCE_DATE_EPOCH and RFC 3339, parsed and written one way for every module. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/timestamp.h"
#include "util/banned.h"

int st_time_parse_epoch(const char *s, const char *what, int64_t *out, struct st_error **err)
{
	/* strtoll alone takes " 12", "+12" and "12abc": a reproducible build must not guess. */
	bool digits = *s != 0;
	for (const char *p = s; *p && digits; p++)
		digits = *p >= '0' && *p <= '9';
	errno = 0;
	long long v = digits ? strtoll(s, NULL, 10) : -1;
	if (!digits || errno)
		return st_err(err, ST_E_INVALID, "invalid %s '%s': want seconds since 1970", what,
			      s);
	*out = v;
	return 0;
}

int st_time_source_date_epoch(int64_t *out, bool *set, struct st_error **err)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");
	*out = 0;
	*set = v && *v;
	if (!*set)
		return 0;
	return st_time_parse_epoch(v, "SOURCE_DATE_EPOCH", out, err);
}

char *st_time_rfc3339(time_t sec, long nsec)
{
	struct tm tm;
	gmtime_r(&sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec <= 0)
		return st_xasprintf("%sZ", base);
	char frac[24];
	snprintf(frac, sizeof(frac), "%09ld", nsec);
	size_t n = strlen(frac);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	return st_xasprintf("%s.%sZ", base, frac);
}
