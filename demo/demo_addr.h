/* SPDX-License-Identifier: MIT */
/* demo_addr.h -- "HOST[:PORT]" splitting for the demo programs' flags. */
#ifndef CIP_DEMO_ADDR_H
#define CIP_DEMO_ADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Splits "A.B.C.D:PORT", "[V6]:PORT", "A.B.C.D", "[V6]" or "V6" into host
 * (without brackets) and port (default_port when absent). The host must
 * be a numeric address. Returns 0, or -1 when the text is not valid.
 */
int	demo_split_hostport(const char *text, uint16_t default_port,
    char *host, size_t hostlen, uint16_t *port);

#endif
