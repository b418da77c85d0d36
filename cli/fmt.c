/* fmt.c: Docker's formatting of sizes, durations and tables, so output reads the same. */
#include "fmt.h"
#include "util/timestamp.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

char *st_fmt_size(uint64_t n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1000.0;
		u++;
	}
	return st_xasprintf("%.3g%s", v, units[u]);
}

char *st_fmt_duration(long long s)
{
	if (s < 1)
		return st_xstrdup("Less than a second");
	if (s == 1)
		return st_xstrdup("1 second");
	if (s < 60)
		return st_xasprintf("%lld seconds", s);
	long long minutes = s / 60;
	if (minutes == 1)
		return st_xstrdup("About a minute");
	if (minutes < 60)
		return st_xasprintf("%lld minutes", minutes);
	long long hours = (long long)((double)s / 3600.0 + 0.5);
	if (hours == 1)
		return st_xstrdup("About an hour");
	if (hours < 48)
		return st_xasprintf("%lld hours", hours);
	if (hours < 24 * 7 * 2)
		return st_xasprintf("%lld days", hours / 24);
	if (hours < 24 * 30 * 2)
		return st_xasprintf("%lld weeks", hours / 24 / 7);
	if (hours < 24 * 365 * 2)
		return st_xasprintf("%lld months", hours / 24 / 30);
	return st_xasprintf("%lld years", s / 3600 / 24 / 365);
}

int st_fmt_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s)
		return -1;
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (strlen(p) < 6 || p[3] != ':')
			return -1;
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (p[4] - '0') * 10 + (p[5] - '0');
		off = (hh * 3600L + mm * 60L) * (p[0] == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

char *st_fmt_since(const char *rfc3339, time_t now)
{
	time_t t;
	if (st_fmt_parse_time(rfc3339, &t) < 0)
		return st_xstrdup("N/A");
	char *d = st_fmt_duration((long long)(now - t));
	char *r = st_xasprintf("%s ago", d);
	free(d);
	return r;
}

char *st_fmt_time(time_t t, long nsec)
{
	return st_time_rfc3339(t, nsec);
}

char *st_fmt_go_string(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	char buf[64];
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	return st_xstrdup(buf);
}

char *st_fmt_rfc3339_local(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	long off = tm.tm_gmtoff;
	if (off == 0)
		return st_xasprintf("%sZ", base);
	long a = off < 0 ? -off : off;
	return st_xasprintf("%s%c%02ld:%02ld", base, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

char *st_fmt_short_id(const char *digest)
{
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
	return st_xstrndup(hex, 12);
}

void st_table_init(struct st_table *t, size_t ncols)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
}

void st_table_add(struct st_table *t, const char *const *row)
{
	t->cells = st_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = st_xstrdup(row[c] ? row[c] : "");
	t->nrows++;
}

/* Width on a terminal: UTF-8 continuation bytes take no column ("…" is one). */
static size_t display_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void st_table_print(const struct st_table *t, FILE *out)
{
	/* Go's tabwriter(minwidth 10, tabwidth 1, padding 3): a column is as wide as its widest
	 * cell plus 3, and at least 10; the last column is not padded. */
	size_t *w = st_xcalloc(t->ncols, sizeof(size_t));
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = display_width(t->cells[r * t->ncols + c]) + 3;
			if (n > w[c])
				w[c] = n;
		}
	for (size_t c = 0; c < t->ncols; c++)
		if (w[c] < 10)
			w[c] = 10;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(out, "%s\n", s);
			else
				fprintf(out, "%s%*s", s, (int)(w[c] - display_width(s)), "");
		}
	}
	free(w);
}

void st_table_release(struct st_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

char *st_fmt_unescape(const char *s)
{
	struct st_buf b = ST_BUF_INIT;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 't') {
			st_buf_addch(&b, '\t');
			s++;
		} else if (s[0] == '\\' && s[1] == 'n') {
			st_buf_addch(&b, '\n');
			s++;
		} else {
			st_buf_addch(&b, *s);
		}
	}
	return st_buf_detach(&b, NULL);
}

/* A Go duration, as Docker's flags take them: "1m30s", "500ms", "2h". */
int st_fmt_parse_duration(const char *flag, const char *s, int64_t *out, struct st_error **err)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = { { "ns", 1 },
		      { "us", 1000 },
		      { "µs", 1000 },
		      { "ms", 1000000 },
		      { "s", 1000000000LL },
		      { "m", 60000000000LL },
		      { "h", 3600000000000LL } };
	double total = 0;
	const char *p = s;
	bool ok = *p != '\0';
	if (!strcmp(s, "0"))
		p = "";
	while (*p && ok) {
		char *end;
		double v = strtod(p, &end);
		ok = end != p && *p != '-' && *p != '+';
		p = end;
		size_t best = 0, i;
		int64_t ns = 0;
		for (i = 0; i < sizeof(units) / sizeof(*units); i++) {
			size_t len = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, len) && len > best) {
				best = len;
				ns = units[i].ns;
			}
		}
		ok = ok && best;
		p += best;
		total += v * (double)ns;
	}
	if (!ok || total > 9.2e18)
		return st_err(
		    err, ST_E_USAGE,
		    "invalid argument \"%s\" for \"%s\" flag: time: invalid duration \"%s\"", s,
		    flag, s);
	*out = (int64_t)total;
	return 0;
}
