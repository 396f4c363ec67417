/* SPDX-License-Identifier: MIT */
/* errf.c -- an error message into a caller's buffer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "errf.h"

void
cip_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
