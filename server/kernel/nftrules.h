/* SPDX-License-Identifier: MIT */
/*
 * nftrules.h -- registry state in, nftables commands out: the kernel
 * data path's rules, built as text for libnftables. Pure: no libnftables,
 * no libevent, no sockets.
 *
 * One table of family inet serves IPv4 and IPv6 VIPs: each family has
 * its maps and sets, matched with "ip daddr" or "ip6 daddr". One chain,
 * "services", on the NAT hooks (new connections only): VIP ports without
 * a ready endpoint are rejected (TCP reset, ICMP or ICMPv6 port
 * unreachable); a service with round-robin or ClientIP affinity goes by
 * a verdict map from "VIP . protocol . port" to a chain of its own
 * (kube-proxy's design: a cascade of numgen rules after the affinity
 * sets, to endpoint chains that count and DNAT); every other service is
 * served by the endpoint map (nftmap.h), whose elements are all an
 * endpoint change touches.
 */
#ifndef CIP_NFTRULES_H
#define CIP_NFTRULES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "registry.h"

struct hmap;

#define NFTRULES_TABLE		"clusterip"
/* The packet mark bit of connections masqueraded in interface mode. */
#define NFTRULES_MASQ_MARK	0x00004000u

/* A growing text buffer; err is sticky (ERR_NOMEM). */
struct nftbuf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

/* Appends; on OOM sets b->err and returns ERR_NOMEM, else 0. */
int	nftbuf_printf(struct nftbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties the text (keeps the memory and clears err). */
void	nftbuf_reset(struct nftbuf *b);
void	nftbuf_free(struct nftbuf *b);

struct nftrules_opts {
	const char	*table;		/* NFTRULES_TABLE unless a test says */
	/*
	 * Interface mode: traffic arriving on the prerouting hook is
	 * translated too, and every translated connection that leaves by
	 * an interface other than lo is masqueraded, so that replies come
	 * back through this host.
	 */
	bool		 prerouting;
	/*
	 * conntrack's TIME_WAIT (and CLOSE) timeout for TCP connections
	 * to a VIP, seconds; 0 keeps the kernel's (120 s).
	 */
	uint32_t	 tcp_time_wait_s;
};

/*
 * What the table holds for one service: each entry is "c:NAME" (a
 * chain), "s:NAME" (an affinity set), "m:KEY" (an element of the verdict
 * map), "r:KEY" (of the reject set), "v:KEY" (of vip-ports) or
 * "e:KEY . SLOTS : ADDR . PORT" (of the endpoint map); capitals for
 * the IPv6 elements. Owned strings.
 */
struct nftrules_state {
	char		**v;
	size_t		  n, cap;
	struct hmap	 *ix;	/* the entries, once there are many */
};
void	nftrules_state_clear(struct nftrules_state *);
/* True when st (may be NULL) has the entry s. */
bool	nftrules_state_has(const struct nftrules_state *st, const char *s);
/* Records "kind:name" once: 1 when added, 0 when already there, or
 * ERR_NOMEM. */
int	nftrules_state_add(struct nftrules_state *st, char kind,
    const char *name);

/*
 * What a change did besides its text: the element changes of sets and
 * maps without verdicts ("+k:ENTRY" added, "-k:ENTRY" deleted, in the
 * text's order), and whether anything else was written (a chain, a rule,
 * a verdict): then only the text says it all.
 */
struct nftrules_delta {
	struct nftrules_state	 ops;
	bool			 slow;
};
void	nftrules_delta_clear(struct nftrules_delta *);

/*
 * The commands that replace the whole table with an empty one of this
 * shape (maps, sets, hooks, reject and masquerade rules) in one go,
 * whether or not it existed. Returns 0 or ERR_NOMEM.
 */
int	nftrules_base(struct nftbuf *out, const struct nftrules_opts *);

/*
 * The commands that make the table's objects for svc what svc says now
 * (svc NULL: the service is gone), given what old recorded (empty for a
 * table just built by nftrules_base); *now (empty on entry) records the
 * new objects. Services the kernel path does not serve must be passed
 * as NULL. The IPv4 VIP balances over sp->ready, the IPv6 VIP (when the
 * service has one) over sp->ready6; TCP and UDP ports are written. An
 * element that stays is not written (its counter goes on). When delta
 * is not NULL, the element changes are appended to it as well, and
 * delta->slow set when the text holds more. Returns 0 or ERR_NOMEM
 * (then *now is cleared).
 */
int	nftrules_service(struct nftbuf *out, const struct nftrules_opts *,
    const struct service *svc, const struct nftrules_state *old,
    struct nftrules_state *now, struct nftrules_delta *delta);

/* The command that deletes the table. Returns 0 or ERR_NOMEM. */
int	nftrules_delete_table(struct nftbuf *out, const struct nftrules_opts *);

/*
 * The name of the endpoint chain of svc's port sp for endpoint ep (of
 * sp->ready6 when v6, else of sp->ready), as nftrules_service writes it
 * for a service with round-robin or affinity (for counters). buf holds
 * at least
 * NFTRULES_NAME_MAX bytes. Returns buf.
 */
#define NFTRULES_NAME_MAX	128
char	*nftrules_ep_chain(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, char *buf, size_t len);

/* A UDP endpoint that left a VIP port (its flows must go elsewhere). */
struct nftrules_udp_gone {
	bool		 v6;		/* vip6 and ep6, else vip and ep */
	struct in_addr	 vip;
	struct in_addr	 ep;
	struct in6_addr	 vip6;
	struct in6_addr	 ep6;
	uint16_t	 port;		/* the VIP's */
	uint16_t	 ep_port;	/* the endpoint's */
};
/*
 * The UDP endpoints recorded in old and not in now, with the VIP of
 * their port, appended to *v (n entries, cap capacity, realloc'ed).
 * Returns 0 or ERR_NOMEM.
 */
int	nftrules_udp_removed(const struct nftrules_state *old,
    const struct nftrules_state *now, struct nftrules_udp_gone **v,
    size_t *n, size_t *cap);

#endif
