/* SPDX-License-Identifier: MIT */
/*
 * errf.h -- an error message into a caller's buffer, for the daemon and
 * libclusterip alike (util.h calls it errf).
 */
#ifndef CIP_ERRF_H
#define CIP_ERRF_H

#include <stddef.h>

/* snprintf into err (may be NULL or errlen 0); always NUL-terminates. */
void	cip_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), visibility("hidden")));

#endif
