/* SPDX-License-Identifier: MIT */
/*
 * ctstats.h -- one dump of the translated conntrack entries (those whose
 * destination was rewritten, as the table's DNAT does), each handed to a
 * callback as the VIP:port it was sent to, the endpoint it went to,
 * whether it is open, and its byte counters when conntrack accounting
 * (net.netfilter.nf_conntrack_acct) is on. libnetfilter-conntrack.
 */
#ifndef CIP_CTSTATS_H
#define CIP_CTSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctstats_entry {
	uint32_t	 id;		/* conntrack's id of the entry */
	int		 af;		/* AF_INET or AF_INET6 */
	uint8_t		 l4;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t		 vip[16];	/* original destination (4 bytes v4) */
	uint16_t	 vport;		/* host order */
	uint8_t		 ep[16];	/* reply source: the endpoint */
	uint16_t	 ep_port;	/* host order */
	/*
	 * TCP from established to last-ack; UDP: every entry. (A destroy
	 * event carries no TCP state: false there.)
	 */
	bool		 open;
	bool		 assured;	/* TCP: the handshake completed */
	bool		 has_bytes;	/* accounting on when created */
	uint64_t	 bytes_orig;	/* client -> endpoint */
	uint64_t	 bytes_reply;	/* endpoint -> client */
};

typedef void ctstats_cb(const struct ctstats_entry *, void *arg);

struct nf_conntrack;

/*
 * Fills e from a conntrack entry (of a dump or an event). Returns false
 * when it is no translated TCP or UDP entry.
 */
bool	ctstats_parse(const struct nf_conntrack *ct, struct ctstats_entry *e);

/*
 * Dumps conntrack (both families) asking the kernel for translated
 * entries only, and calls cb for each TCP or UDP one. Blocks for the
 * dump. Returns the number of entries handed to cb, or -1 with a reason
 * in err.
 */
int	ctstats_dump(ctstats_cb *cb, void *arg, char *err, size_t errlen);

#endif
