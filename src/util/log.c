#include "util/log.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/banned.h"

void st_log(const struct st_log *log, enum st_log_level level, const char *fmt, ...)
{
	if (!log || !log->fn || level < log->min)
		return;
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log->fn(log->ctx, level, st_buf_str(&b));
	st_buf_release(&b);
}
