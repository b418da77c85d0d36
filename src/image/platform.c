/* platform.c: os/arch[/variant] parsing, containerd's normalisation, host detection, matching. */
#include "image/image.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/banned.h"

static void set_field(char *dst, const char *src)
{
	size_t n = strlen(src);
	if (n >= ST_PLATFORM_FIELD_MAX)
		n = ST_PLATFORM_FIELD_MAX - 1;
	memmove(dst, src, n);
	dst[n] = 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* containerd's platforms.Normalize (database.go: normalizeOS, normalizeArch). */
void st_platform_normalize(struct st_platform *p)
{
	lower(p->os);
	lower(p->architecture);
	lower(p->variant);
	if (strcmp(p->os, "macos") == 0)
		set_field(p->os, "darwin");

	char *a = p->architecture, *v = p->variant;
	if (strcmp(a, "i386") == 0) {
		set_field(a, "386");
		v[0] = 0;
	} else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 ||
		   strcmp(a, "amd64") == 0) {
		set_field(a, "amd64");
		if (strcmp(v, "v1") == 0)
			v[0] = 0;
	} else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
		set_field(a, "arm64");
		if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0 || strcmp(v, "v8.0") == 0)
			v[0] = 0;
		else if (strcmp(v, "9") == 0 || strcmp(v, "9.0") == 0 || strcmp(v, "v9.0") == 0)
			set_field(v, "v9");
	} else if (strcmp(a, "armhf") == 0) {
		set_field(a, "arm");
		set_field(v, "v7");
	} else if (strcmp(a, "armel") == 0) {
		set_field(a, "arm");
		set_field(v, "v6");
	} else if (strcmp(a, "arm") == 0) {
		if (v[0] == 0 || strcmp(v, "7") == 0)
			set_field(v, "v7");
		else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0) {
			char t[4] = { 'v', v[0], 0, 0 };
			set_field(v, t);
		}
	}
}

static bool known_os(const char *s)
{
	static const char *const oses[] = { "aix",     "android", "darwin",  "dragonfly", "freebsd",
					    "hurd",    "illumos", "ios",     "js",	  "linux",
					    "nacl",    "netbsd",  "openbsd", "plan9",	  "solaris",
					    "windows", "zos",	  "macos",   "wasip1" };
	for (size_t i = 0; i < sizeof(oses) / sizeof(*oses); i++)
		if (strcasecmp(s, oses[i]) == 0)
			return true;
	return false;
}

static bool field_ok(const char *s, size_t n)
{
	if (n == 0 || n >= ST_PLATFORM_FIELD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

int st_platform_parse(const char *s, struct st_platform *out, struct st_error **err)
{
	struct st_platform host;
	const char *parts[3] = { 0 };
	size_t lens[3] = { 0 };
	size_t np = 0;
	const char *p = s ? s : "";

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (np == 3 || !field_ok(p, n))
			return st_err(err, ST_E_INVALID,
				      "invalid platform '%s': expected os/arch[/variant]",
				      s ? s : "");
		parts[np] = p;
		lens[np++] = n;
		if (!slash)
			break;
		p = slash + 1;
	}
	st_platform_host(&host);
	if (np == 1) {
		/* containerd: a lone OS takes the host's architecture; a lone arch means linux */
		char one[ST_PLATFORM_FIELD_MAX];
		snprintf(one, sizeof(one), "%.*s", (int)lens[0], parts[0]);
		if (known_os(one)) {
			set_field(out->os, one);
			set_field(out->architecture, host.architecture);
			set_field(out->variant, host.variant);
		} else {
			set_field(out->os, "linux");
			set_field(out->architecture, one);
		}
	} else {
		snprintf(out->os, sizeof(out->os), "%.*s", (int)lens[0], parts[0]);
		snprintf(out->architecture, sizeof(out->architecture), "%.*s", (int)lens[1],
			 parts[1]);
		if (np == 3)
			snprintf(out->variant, sizeof(out->variant), "%.*s", (int)lens[2],
				 parts[2]);
	}
	st_platform_normalize(out);
	return 0;
}

void st_platform_format(const struct st_platform *p, struct st_buf *out)
{
	st_buf_addf(out, "%s/%s", p->os[0] ? p->os : "unknown",
		    p->architecture[0] ? p->architecture : "unknown");
	if (p->variant[0])
		st_buf_addf(out, "/%s", p->variant);
}

void st_platform_host(struct st_platform *out)
{
	struct utsname u;
	memset(out, 0, sizeof(*out));
	set_field(out->os, "linux");
	if (uname(&u) < 0) {
		set_field(out->architecture, "unknown");
		return;
	}
	const char *m = u.machine;
	if (strncmp(m, "armv", 4) == 0 && m[4] >= '5' && m[4] <= '8') {
		/* armv7l, armv6l: a 32-bit ARM kernel names its level */
		char v[3] = { 'v', m[4], 0 };
		set_field(out->architecture, m[4] == '8' ? "arm64" : "arm");
		set_field(out->variant, m[4] == '8' ? "" : v);
	} else if (strcmp(m, "i686") == 0 || strcmp(m, "i586") == 0) {
		set_field(out->architecture, "386");
	} else {
		set_field(out->architecture, m);
	}
	st_platform_normalize(out);
}

/* "v7" -> 7; -1 if not of the form v<digits> */
static int variant_level(const char *v)
{
	if (v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return -1;
	int n = 0;
	for (const char *p = v + 1; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > 1000)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

bool st_platform_match(const struct st_platform *want, const struct st_platform *have)
{
	struct st_platform w = *want, h = *have;
	st_platform_normalize(&w);
	st_platform_normalize(&h);
	if (strcmp(w.os, h.os) != 0 || strcmp(w.architecture, h.architecture) != 0)
		return false;
	if (strcmp(w.variant, h.variant) == 0 || !w.variant[0])
		return true;
	/* containerd's "only" matcher: newer arm and amd64 levels run older code */
	if (strcmp(w.architecture, "arm") == 0 || strcmp(w.architecture, "amd64") == 0) {
		int wl = variant_level(w.variant);
		int hl = h.variant[0] ? variant_level(h.variant) : 1;
		return wl > 0 && hl > 0 && hl <= wl;
	}
	return false;
}

int st_platform_check(const char *name, const struct st_platform *want, const char *os,
		      const char *arch, const char *variant, struct st_error **err)
{
	if (!want)
		return 0;
	struct st_platform have = { 0 };
	snprintf(have.os, sizeof(have.os), "%s", os ? os : "");
	snprintf(have.architecture, sizeof(have.architecture), "%s", arch ? arch : "");
	snprintf(have.variant, sizeof(have.variant), "%s", variant ? variant : "");
	st_platform_normalize(&have);
	if (st_platform_match(want, &have))
		return 0;
	struct st_buf w = ST_BUF_INIT, is = ST_BUF_INIT;
	st_platform_format(want, &w);
	st_platform_format(&have, &is);
	st_err(err, ST_E_NOTFOUND, "'%s' is %s, not %s", name, is.data, w.data);
	st_buf_release(&w);
	st_buf_release(&is);
	return -1;
}
