/* SPDX-License-Identifier: MIT */
/*
 * checkcaps.h -- --check-config: what the configuration will ask of the
 * kernel that this process could not do.
 */
#ifndef CIP_CHECKCAPS_H
#define CIP_CHECKCAPS_H

#include <stdio.h>

struct cip_conf;

/*
 * Writes one "clusteripd: warning: ..." line to fp per thing start-up would need a
 * capability for that this process lacks: CAP_NET_ADMIN for an IPv6
 * range in loopback mode (refused at start without it), for VIPs on an
 * interface and for the kernel path; CAP_NET_BIND_SERVICE for a DNS or
 * API port below the unprivileged range. Warnings, not refusals: the
 * check may run as another user than the daemon will. Returns how many.
 */
int	checkcaps_warn(const struct cip_conf *, FILE *fp);

#endif
