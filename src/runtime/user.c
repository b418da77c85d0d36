/* user.c: a Dockerfile USER string to uid, gid and supplementary gids, Docker's way. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Read <rootfs>/<rel>; a missing file reads as empty, as Docker treats it. */
static int read_in_root(const char *rootfs, const char *rel, struct st_buf *out,
			struct st_error **err)
{
	st_autoclose int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return st_err_errno(err, "open rootfs '%s'", rootfs);
	st_autoclose int fd = st_runtime_open_in_root(root, rel, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
			return 0;
		return st_err_errno(err, "open '%s' in rootfs '%s'", rel, rootfs);
	}
	for (;;) {
		st_buf_grow(out, 8192);
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return st_err_errno(err, "read '%s' in rootfs '%s'", rel, rootfs);
		}
		if (r == 0)
			return 0;
		st_buf_setlen(out, out->len + (size_t)r);
	}
}

/* Docker takes a string that parses as a number as an id, never as a name. */
static bool parse_id(const char *s, unsigned long *out)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	unsigned long v = strtoul(s, NULL, 10);
	if (errno || v > INT_MAX)
		return false;
	*out = v;
	return true;
}

/* Split one line of a colon-separated file in place; returns the field count (up to max). */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

struct pw_entry {
	char *name;
	unsigned long uid, gid;
	bool found;
};

/* The first passwd entry whose name is 'user', or whose uid is 'user' when it is numeric. */
static void find_passwd(char *text, const char *user, struct pw_entry *pw)
{
	unsigned long want;
	bool numeric = parse_id(user, &want);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7];
		if (line[0] == '#' || split_fields(line, f, 7) < 4)
			continue;
		unsigned long uid, gid;
		if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
			continue;
		if (numeric ? uid == want : strcmp(f[0], user) == 0) {
			pw->name = st_xstrdup(f[0]);
			pw->uid = uid;
			pw->gid = gid;
			pw->found = true;
			return;
		}
	}
}

static bool has_member(char *list, const char *name)
{
	char *save = NULL;
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, name) == 0)
			return true;
	return false;
}

/*
 * With 'group' set: find it by name (or gid when numeric) into *gid, *found.
 * Without: collect the gids of the groups listing 'member' into gids.
 */
static void scan_groups(char *text, const char *group, unsigned long *gid, bool *found,
			const char *member, gid_t **gids, size_t *n)
{
	unsigned long want = 0;
	bool numeric = group && parse_id(group, &want);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		size_t nf = line[0] == '#' ? 0 : split_fields(line, f, 4);
		if (nf < 3)
			continue;
		unsigned long g;
		if (!parse_id(f[2], &g))
			continue;
		if (group) {
			if (numeric ? g == want : strcmp(f[0], group) == 0) {
				*gid = g;
				*found = true;
				return;
			}
		} else if (member && nf == 4 && has_member(f[3], member)) {
			*gids = st_xrealloc(*gids, (*n + 1) * sizeof(**gids));
			(*gids)[(*n)++] = (gid_t)g;
		}
	}
}

int st_runtime_resolve_user(const char *rootfs, const char *user, uid_t *uid, gid_t *gid,
			    gid_t **gids, size_t *n_gids, struct st_error **err)
{
	*gids = NULL;
	*n_gids = 0;
	st_autofree char *spec = st_xstrdup(user && *user ? user : "0");
	char *group = strchr(spec, ':');
	if (group)
		*group++ = '\0';
	if (!*spec || (group && !*group))
		return st_err(err, ST_E_INVALID, "invalid user '%s'", user);

	struct st_buf passwd = ST_BUF_INIT;
	if (read_in_root(rootfs, "etc/passwd", &passwd, err) < 0) {
		st_buf_release(&passwd);
		return -1;
	}
	struct pw_entry pw = { 0 };
	find_passwd(passwd.data ? passwd.data : (char *)"", spec, &pw);
	st_buf_release(&passwd);
	st_autofree char *pw_name = pw.name;

	unsigned long u = 0, g = 0;
	if (pw.found) {
		u = pw.uid;
		g = pw.gid;
	} else if (!parse_id(spec, &u)) {
		return st_err(err, ST_E_NOTFOUND,
			      "unable to find user %s: no matching entries in passwd file", spec);
	}

	struct st_buf groups = ST_BUF_INIT;
	if (read_in_root(rootfs, "etc/group", &groups, err) < 0) {
		st_buf_release(&groups);
		return -1;
	}
	char *text = groups.data ? groups.data : (char *)"";
	gid_t *list = NULL;
	size_t n = 0;
	if (group) {
		bool found = false;
		scan_groups(text, group, &g, &found, NULL, NULL, NULL);
		if (!found && !parse_id(group, &g)) {
			st_buf_release(&groups);
			return st_err(err, ST_E_NOTFOUND,
				      "unable to find group %s: no matching entries in group file",
				      group);
		}
	} else if (pw.found) {
		/* Supplementary groups only in the implicit form, as Docker does. */
		scan_groups(text, NULL, NULL, NULL, pw_name, &list, &n);
	}
	st_buf_release(&groups);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	*gids = list;
	*n_gids = n;
	return 0;
}
