/* common.c: format names, format detection and archive entry names. */
#include "archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const struct {
	const char *name;
	enum st_archive_format f;
} formats[] = {
	{ "docker-archive", ST_ARCHIVE_DOCKER },
	{ "oci-archive", ST_ARCHIVE_OCI_ARCHIVE },
	{ "oci-dir", ST_ARCHIVE_OCI_DIR },
};

int st_archive_format_parse(const char *s, enum st_archive_format *out, struct st_error **err)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++) {
		if (!strcmp(s, formats[i].name)) {
			*out = formats[i].f;
			return 0;
		}
	}
	return st_err(err, ST_E_INVALID,
		      "unknown format '%s': expected docker-archive, oci-archive or oci-dir", s);
}

const char *st_archive_format_name(enum st_archive_format f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (formats[i].f == f)
			return formats[i].name;
	return "unknown";
}

enum st_archive_format st_archive_detect_names(const char *const *names, size_t n)
{
	bool index = false;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(names[i], "manifest.json"))
			return ST_ARCHIVE_DOCKER;
		if (!strcmp(names[i], "index.json"))
			index = true;
	}
	return index ? ST_ARCHIVE_OCI_ARCHIVE : ST_ARCHIVE_UNKNOWN;
}

int st_archive_entry_name(const char *raw, char **out, struct st_error **err)
{
	if (raw[0] == '/')
		return st_err(err, ST_E_INVALID, "archive entry '%s': absolute path", raw);
	struct st_buf b = ST_BUF_INIT;
	if (!st_path_normalize(raw, &b)) {
		st_buf_release(&b);
		return st_err(err, ST_E_INVALID, "archive entry '%s': path escapes the archive",
			      raw);
	}
	*out = st_buf_detach(&b, NULL);
	return 0;
}

int st_archive_link_target(const char *name, const char *target, char **out, struct st_error **err)
{
	if (target[0] == '/')
		return st_err(err, ST_E_INVALID, "archive entry '%s': link to absolute path '%s'",
			      name, target);
	/* Resolve lexically against the link's directory; '..' may not climb out of the root. */
	struct st_buf b = ST_BUF_INIT;
	const char *slash = strrchr(name, '/');
	if (slash)
		st_buf_add(&b, name, (size_t)(slash - name));
	const char *p = target;
	while (*p) {
		const char *s = strchr(p, '/');
		size_t len = s ? (size_t)(s - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (!b.len) {
				st_buf_release(&b);
				return st_err(
				    err, ST_E_INVALID,
				    "archive entry '%s': link target '%s' escapes the archive",
				    name, target);
			}
			char *up = strrchr(b.data, '/');
			st_buf_setlen(&b, up ? (size_t)(up - b.data) : 0);
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (b.len)
				st_buf_addch(&b, '/');
			st_buf_add(&b, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	st_buf_grow(&b, 0);
	*out = st_buf_detach(&b, NULL);
	return 0;
}

static enum st_archive_format detect_dir(const char *path)
{
	st_autofree char *index = st_path_join(path, "index.json");
	st_autofree char *layout = st_path_join(path, "oci-layout");
	st_autofree char *manifest = st_path_join(path, "manifest.json");
	if (st_path_exists(manifest))
		return ST_ARCHIVE_DOCKER;
	if (st_path_exists(index) || st_path_exists(layout))
		return ST_ARCHIVE_OCI_DIR;
	return ST_ARCHIVE_UNKNOWN;
}

int st_archive_detect_path(const char *path, enum st_archive_format *out, struct st_error **err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return st_err(err, ST_E_NOTFOUND, "open '%s': no such file or directory",
				      path);
		return st_err_errno(err, "stat '%s'", path);
	}
	if (S_ISDIR(st.st_mode)) {
		*out = detect_dir(path);
		return 0;
	}
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		int rc = st_err(err, ST_E_PARSE, "read '%s': %s", path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	bool index = false;
	enum st_archive_format f = ST_ARCHIVE_UNKNOWN;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		char *name = NULL;
		struct st_error *nerr = NULL;
		if (st_archive_entry_name(archive_entry_pathname(e), &name, &nerr) < 0) {
			st_error_free(nerr);
			continue;
		}
		const char *one[] = { name };
		enum st_archive_format g = st_archive_detect_names(one, 1);
		free(name);
		if (g == ST_ARCHIVE_DOCKER) {
			f = g;
			break;
		}
		if (g == ST_ARCHIVE_OCI_ARCHIVE)
			index = true;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF) {
		int rc = st_err(err, ST_E_PARSE, "read '%s': %s", path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	archive_read_free(a);
	*out = f != ST_ARCHIVE_UNKNOWN ? f : index ? ST_ARCHIVE_OCI_ARCHIVE : ST_ARCHIVE_UNKNOWN;
	return 0;
}
