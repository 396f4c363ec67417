/* SPDX-License-Identifier: MIT */
/* lib_internal.h -- what libclusterip's files share; not installed. */
#ifndef CIP_LIB_INTERNAL_H
#define CIP_LIB_INTERNAL_H

#include <stddef.h>

/* snprintf into err (may be NULL or errlen 0). */
void	cip_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), visibility("hidden")));

#endif
