/* SPDX-License-Identifier: MIT */
/*
 * ctflush.h -- deletes the conntrack entries of UDP flows translated to
 * endpoints that left, so that the next datagram of such a flow meets
 * the rules again (libnetfilter-conntrack). TCP needs none of this: its
 * established connections drain on their endpoint, as they should.
 */
#ifndef CIP_CTFLUSH_H
#define CIP_CTFLUSH_H

#include <stddef.h>

#include "nftrules.h"

/*
 * Deletes every UDP conntrack entry sent to g[i].vip:port and translated
 * to g[i].ep:ep_port, for the n entries of g; one dump of the table for
 * all. Blocks for the dump. Returns the number deleted, or -1 with a
 * reason in err.
 */
int	ctflush_udp(const struct nftrules_udp_gone *g, size_t n, char *err,
    size_t errlen);

#endif
