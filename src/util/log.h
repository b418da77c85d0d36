/* log.h: messages for people, sent through a sink the caller owns (the library never prints). */
#ifndef ST_UTIL_LOG_H
#define ST_UTIL_LOG_H

enum st_log_level { ST_LOG_DEBUG, ST_LOG_INFO, ST_LOG_WARN };

struct st_log {
	void (*fn)(void *ctx, enum st_log_level level, const char *msg);
	void *ctx;
	enum st_log_level min; /* messages below this level are dropped */
};

/* Send a message to 'log'; a NULL log or NULL fn drops it. */
void st_log(const struct st_log *log, enum st_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
