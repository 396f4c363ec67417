/* SPDX-License-Identifier: MIT */
/* log.h -- leveled logging to stderr. */
#ifndef CIP_LOG_H
#define CIP_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sets the process name printed before each line and the threshold. */
void	log_init(const char *progname, enum log_level level);
void	log_setlevel(enum log_level level);
enum log_level log_getlevel(void);
/* Parses "error", "warn", "info", "debug"; returns -1 on anything else. */
int	log_parse_level(const char *name);
const char *log_level_name(enum log_level level);

/* log_warn appends strerror(errno); log_warnx does not. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup and broken-invariant failures only: log and exit(1). */
void	fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
