/* SPDX-License-Identifier: MIT */
/* nftrules.c -- the kernel data path's nftables commands, built as text. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "nftmap.h"
#include "nftrules.h"
#include "util.h"

#define TBL(o)	((o)->table ? (o)->table : NFTRULES_TABLE)
/* The table's family: one table serves IPv4 and IPv6 VIPs. */
#define FAM	"inet"

/* What differs between the families inside the table. */
struct nftfam {
	bool		 v6;
	const char	*l3;		/* the match and dnat keyword */
	const char	*map;		/* the verdict map of the VIPs */
	const char	*noep;		/* the reject set */
	const char	*pfx;		/* of chain and set names */
	const char	*ctt;		/* the TIME_WAIT policy object */
	/*
	 * State kinds: verdict map, reject set, vip-ports, endpoints,
	 * endpoint-counters.
	 */
	char		 mkind, rkind, vkind, ekind, kkind;
};
static const struct nftfam fam4 = { false, "ip", "service-ips",
    "no-endpoints", "", "tcp-vip", 'm', 'r', 'v', 'e', 'k' };
static const struct nftfam fam6 = { true, "ip6", "service-ips6",
    "no-endpoints6", "6", "tcp-vip6", 'M', 'R', 'V', 'E', 'K' };

static const struct svc_ready *
fam_ready(const struct svc_port *sp, const struct nftfam *f)
{
	return f->v6 ? sp->ready6 : sp->ready;
}

/* An endpoint's address as nft reads it after "dnat ip6 to". */
static const char *
ep_addr(const struct svc_endpoint *ep, const struct nftfam *f, char *buf,
    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!f->v6)
		return inet4_str(ep->ip, buf);
	inet_ntop(AF_INET6, &ep->ip6, a, sizeof(a));
	snprintf(buf, len, "[%s]", a);
	return buf;
}

/* 32 hex digits of an IPv6 address, for names. */
static void
hex6(const struct in6_addr *a, char *buf)
{
	size_t i;

	for (i = 0; i < 16; i++)
		snprintf(buf + 2 * i, 3, "%02x", a->s6_addr[i]);
}

int
nftbuf_printf(struct nftbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t ncap;
	char *np;
	int n;

	if (b->err != 0)
		return b->err;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
		    b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = ERR_NOMEM;
			return b->err;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return 0;
		}
		ncap = b->cap ? b->cap * 2 : 4096;
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = ERR_NOMEM;
			return b->err;
		}
		b->p = np;
		b->cap = ncap;
		b->p[b->len] = '\0';
	}
}

void
nftbuf_reset(struct nftbuf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
nftbuf_free(struct nftbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
nftrules_state_clear(struct nftrules_state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i]);
	free(st->v);
	hmap_free(st->ix, NULL);
	memset(st, 0, sizeof(*st));
}

/*
 * A service with many endpoints has thousands of slots: past this many
 * entries a state is indexed, so that comparing two stays linear.
 */
#define STATE_INDEX_MIN	32

static void
state_index(struct nftrules_state *st)
{
	size_t i;

	if ((st->ix = hmap_new()) == NULL)
		return;
	for (i = 0; i < st->n; i++)
		if (hmap_put(st->ix, st->v[i], (void *)1, NULL) != 0) {
			hmap_free(st->ix, NULL);	/* linear then */
			st->ix = NULL;
			return;
		}
}

bool
nftrules_state_has(const struct nftrules_state *st, const char *s)
{
	size_t i;

	if (st != NULL && st->ix != NULL)
		return hmap_get(st->ix, s) != NULL;
	for (i = 0; st != NULL && i < st->n; i++)
		if (strcmp(st->v[i], s) == 0)
			return true;
	return false;
}

int
nftrules_state_add(struct nftrules_state *st, char kind, const char *name)
{
	char buf[NFTRULES_NAME_MAX + 48];
	char **nv;

	snprintf(buf, sizeof(buf), "%c:%s", kind, name);
	if (nftrules_state_has(st, buf))
		return 0;
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 8;
		if ((nv = reallocarray(st->v, ncap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		st->v = nv;
		st->cap = ncap;
	}
	if ((st->v[st->n] = strdup(buf)) == NULL)
		return ERR_NOMEM;
	st->n++;
	if (st->ix != NULL && hmap_put(st->ix, st->v[st->n - 1], (void *)1,
	    NULL) != 0) {
		hmap_free(st->ix, NULL);
		st->ix = NULL;
	} else if (st->ix == NULL && st->n == STATE_INDEX_MIN)
		state_index(st);
	return 1;
}

static const char *
proto_kw(enum cip_proto p)
{
	return p == CIP_PROTO_UDP ? "udp" : "tcp";
}

static uint64_t
svc_hash(const struct service *svc)
{
	return hash_fnv1a(svc->key, strlen(svc->key));
}

static void
svc_chain(const struct service *svc, const struct svc_port *sp,
    const struct nftfam *f, char *buf, size_t len)
{
	snprintf(buf, len, "svc%s-%016" PRIx64 "-%s-%u", f->pfx,
	    svc_hash(svc), proto_kw(sp->proto), (unsigned)sp->port);
}

/* The endpoint's address in a name: 8 or 32 hex digits. */
static void
ep_hex(const struct svc_endpoint *ep, const struct nftfam *f, char *buf)
{
	if (f->v6)
		hex6(&ep->ip6, buf);
	else
		snprintf(buf, 9, "%08" PRIx32, (uint32_t)ntohl(ep->ip.s_addr));
}

static char *
ep_chain(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, const struct nftfam *f, char *buf,
    size_t len)
{
	char h[33];

	/* The name says all the chain holds: kept as long as it stays. */
	ep_hex(ep, f, h);
	snprintf(buf, len, "ep%s-%016" PRIx64 "-%s-%u-%s-%u%s", f->pfx,
	    svc_hash(svc), proto_kw(sp->proto), (unsigned)sp->port, h,
	    (unsigned)ep->port, svc->affinity == AFFINITY_CLIENTIP ? "-a" : "");
	return buf;
}

char *
nftrules_ep_chain(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, bool v6, char *buf, size_t len)
{
	return ep_chain(svc, sp, ep, v6 ? &fam6 : &fam4, buf, len);
}

/* The affinity set of one endpoint: its name carries the timeout. */
static void
aff_set(const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, const struct nftfam *f, char *buf,
    size_t len)
{
	char h[33];

	ep_hex(ep, f, h);
	snprintf(buf, len, "aff%s-%016" PRIx64 "-%s-%u-%s-%u-%" PRIu32,
	    f->pfx, svc_hash(svc), proto_kw(sp->proto), (unsigned)sp->port,
	    h, (unsigned)ep->port, svc->ext->affinity_timeout_s);
}

static void
elem_key(const struct service *svc, const struct svc_port *sp,
    const struct nftfam *f, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (f->v6)
		inet_ntop(AF_INET6, &svc->ext->vip6, a, sizeof(a));
	else
		inet4_str(svc->vip, a);
	snprintf(buf, len, "%s . %s . %u", a, proto_kw(sp->proto),
	    (unsigned)sp->port);
}

static bool
port_served(const struct svc_port *sp)
{
	return sp->proto == CIP_PROTO_TCP || sp->proto == CIP_PROTO_UDP;
}

static bool
ep_served(const struct svc_endpoint *ep, const struct nftfam *f)
{
	return (f->v6 ? !in6_is_unset(&ep->ip6) : ep->ip.s_addr != 0) &&
	    ep->port != 0;
}

int
nftrules_base(struct nftbuf *out, const struct nftrules_opts *o)
{
	const char *t = TBL(o);
	const struct nftfam *fams[] = { &fam4, &fam6 }, *f;
	size_t i, j;

	/* A table "ip" of an earlier version goes too: one table hooks. */
	nftbuf_printf(out, "add table ip %s\ndelete table ip %s\n"
	    "add table " FAM " %s\ndelete table " FAM " %s\n"
	    "table " FAM " %s {\n", t, t, t, t, t);
	for (i = 0; i < 2 && o->tcp_time_wait_s > 0; i++)
		nftbuf_printf(out, "\tct timeout %s {\n"
		    "\t\tprotocol tcp;\n\t\tl3proto %s;\n"
		    "\t\tpolicy = { time_wait: %" PRIu32 ", close: %" PRIu32
		    " };\n\t}\n", fams[i]->ctt, fams[i]->l3,
		    o->tcp_time_wait_s, o->tcp_time_wait_s);
	for (i = 0; i < 2; i++) {
		const char *at = fams[i]->v6 ? "ipv6_addr" : "ipv4_addr";

		f = fams[i];
		nftbuf_printf(out,
		    "\tmap %s {\n"
		    "\t\ttype %s . inet_proto . inet_service : verdict;\n"
		    "\t}\n"
		    "\tset %s {\n"
		    "\t\ttype %s . inet_proto . inet_service;\n"
		    "\t}\n"
		    "\tset %s {\n"
		    "\t\ttype %s . inet_proto . inet_service;\n"
		    "\t}\n"
		    "\tset %s {\n"
		    "\t\ttype %s . inet_proto . inet_service . %s . "
		    "inet_service;\n"
		    "\t\tcounter;\n"
		    "\t}\n", f->map, at, f->noep, at, nftmap_set(f->vkind),
		    at, nftmap_set(f->kkind), at, at);
		for (j = 0; j < NFTMAP_NCLASSES; j++)
			nftbuf_printf(out, "\tmap %s-%" PRIu32 " {\n"
			    "\t\ttypeof %s daddr . meta l4proto . th dport . "
			    "numgen random mod %" PRIu32 " : %s daddr . th "
			    "dport;\n\t}\n", nftmap_set(f->ekind),
			    nftmap_class(j), f->l3, nftmap_class(j), f->l3);
	}
	/*
	 * New connections only (NAT chains see no other packet): reject
	 * first, then the services with chains of their own, then the
	 * endpoint maps. Rejecting here, not in filter chains, keeps every
	 * packet of an established connection off the table's rules.
	 */
	nftbuf_printf(out, "\tchain services {\n");
	for (i = 0; i < 2; i++) {
		f = fams[i];
		nftbuf_printf(out,
		    "\t\t%s daddr . meta l4proto . th dport @%s "
		    "meta l4proto tcp reject with tcp reset\n"
		    "\t\t%s daddr . meta l4proto . th dport @%s reject\n",
		    f->l3, f->noep, f->l3, f->noep);
	}
	for (i = 0; i < 2; i++)
		nftbuf_printf(out, "\t\t%s daddr . meta l4proto . th dport "
		    "vmap @%s\n", fams[i]->l3, fams[i]->map);
	for (i = 0; i < 2 && o->tcp_time_wait_s > 0; i++)
		nftbuf_printf(out, "\t\tmeta l4proto tcp %s daddr . meta "
		    "l4proto . th dport @%s ct timeout set \"%s\"\n",
		    fams[i]->l3, nftmap_set(fams[i]->vkind), fams[i]->ctt);
	for (i = 0; i < 2 && o->prerouting; i++)
		nftbuf_printf(out, "\t\t%s daddr . meta l4proto . th dport @%s "
		    "meta mark set meta mark | 0x%08x\n", fams[i]->l3,
		    nftmap_set(fams[i]->vkind), NFTRULES_MASQ_MARK);
	/* A VIP port is in one map: the others miss, the rule goes on. */
	for (i = 0; i < 2; i++)
		for (j = 0; j < NFTMAP_NCLASSES; j++)
			nftbuf_printf(out, "\t\tmeta l4proto { tcp, udp } dnat "
			    "%s to %s daddr . meta l4proto . th dport . numgen "
			    "random mod %" PRIu32 " map @%s-%" PRIu32 "\n",
			    fams[i]->l3, fams[i]->l3, nftmap_class(j),
			    nftmap_set(fams[i]->ekind), nftmap_class(j));
	nftbuf_printf(out,
	    "\t}\n"
	    "\tchain nat-output {\n"
	    "\t\ttype nat hook output priority -100; policy accept;\n"
	    "\t\tjump services\n"
	    "\t}\n");
	if (o->prerouting)
		nftbuf_printf(out,
		    "\tchain nat-prerouting {\n"
		    "\t\ttype nat hook prerouting priority -100; "
		    "policy accept;\n"
		    "\t\tjump services\n"
		    "\t}\n");
	/* Each translated connection counted once, by its endpoint. */
	nftbuf_printf(out,
	    "\tchain nat-postrouting {\n"
	    "\t\ttype nat hook postrouting priority 100; policy accept;\n"
	    "\t\tmeta l4proto { tcp, udp } ct status dnat ct original ip "
	    "daddr . meta l4proto . "
	    "ct original proto-dst . ip daddr . th dport @%s\n"
	    "\t\tmeta l4proto { tcp, udp } ct status dnat ct original ip6 "
	    "daddr . meta l4proto . "
	    "ct original proto-dst . ip6 daddr . th dport @%s\n",
	    nftmap_set(fam4.kkind), nftmap_set(fam6.kkind));
	if (o->prerouting)
		nftbuf_printf(out,
		    "\t\tmeta mark & 0x%08x != 0 oifname != \"lo\" "
		    "masquerade\n", NFTRULES_MASQ_MARK);
	nftbuf_printf(out, "\t}\n}\n");
	return out->err;
}

int
nftrules_delete_table(struct nftbuf *out, const struct nftrules_opts *o)
{
	return nftbuf_printf(out, "delete table " FAM " %s\n", TBL(o));
}

/* One endpoint chain (and its affinity set): counts, marks, DNATs. */
static void
emit_ep(struct nftbuf *out, const struct nftrules_opts *o,
    const struct service *svc, const struct svc_port *sp,
    const struct svc_endpoint *ep, const struct nftfam *f, const char *chain)
{
	const char *t = TBL(o);
	char set[NFTRULES_NAME_MAX], a[INET6_ADDRSTRLEN + 2];

	/* A new chain: one that the old state had is never rewritten. */
	nftbuf_printf(out, "add chain " FAM " %s %s\nadd rule " FAM " %s %s",
	    t, chain, t, chain);
	if (svc->affinity == AFFINITY_CLIENTIP) {
		aff_set(svc, sp, ep, f, set, sizeof(set));
		nftbuf_printf(out, " update @%s { %s saddr }", set, f->l3);
	}
	if (o->prerouting)
		nftbuf_printf(out, " meta mark set meta mark | 0x%08x",
		    NFTRULES_MASQ_MARK);
	nftbuf_printf(out, " counter meta l4proto %s dnat %s to %s:%u\n",
	    proto_kw(sp->proto), f->l3, ep_addr(ep, f, a, sizeof(a)),
	    (unsigned)ep->port);
}

/*
 * Sets, endpoint chains and the service chain of one port of a service
 * with round-robin or ClientIP affinity: kube-proxy's design.
 */
static int
emit_chains(struct nftbuf *out, const struct nftrules_opts *o,
    const struct service *svc, const struct svc_port *sp,
    const struct nftfam *f, const struct nftrules_state *old,
    struct nftrules_state *now)
{
	const struct svc_ready *r = fam_ready(sp, f);
	const char *t = TBL(o);
	const char *algo = svc->algo == LB_ROUND_ROBIN ? "inc" : "random";
	char chain[NFTRULES_NAME_MAX], sc[NFTRULES_NAME_MAX];
	char set[NFTRULES_NAME_MAX], key[96], ck[NFTRULES_NAME_MAX + 2];
	uint32_t i, k, n = 0;
	int rc;

	elem_key(svc, sp, f, key, sizeof(key));
	for (i = 0; r != NULL && i < r->n; i++)
		if (ep_served(&r->v[i], f))
			n++;
	if (n == 0)	/* the element is added with the others */
		return nftrules_state_add(now, f->rkind, key) < 0 ?
		    ERR_NOMEM : 0;
	svc_chain(svc, sp, f, sc, sizeof(sc));
	/* Endpoint chains (and sets) exist before anything jumps there. */
	for (i = 0; i < r->n; i++) {
		const struct svc_endpoint *ep = &r->v[i];

		if (!ep_served(ep, f))
			continue;
		ep_chain(svc, sp, ep, f, chain, sizeof(chain));
		if ((rc = nftrules_state_add(now, 'c', chain)) < 0)
			return rc;
		if (rc == 0)
			continue;	/* the same address and port twice */
		if (svc->affinity == AFFINITY_CLIENTIP) {
			aff_set(svc, sp, ep, f, set, sizeof(set));
			if (nftrules_state_add(now, 's', set) < 0)
				return ERR_NOMEM;
		}
		/* An endpoint that stays keeps its chain, counter and set. */
		snprintf(ck, sizeof(ck), "c:%s", chain);
		if (nftrules_state_has(old, ck))
			continue;
		if (svc->affinity == AFFINITY_CLIENTIP)
			nftbuf_printf(out, "add set " FAM " %s %s { type %s; "
			    "flags dynamic,timeout; timeout %" PRIu32 "s; }\n",
			    t, set, f->v6 ? "ipv6_addr" : "ipv4_addr",
			    svc->ext->affinity_timeout_s);
		emit_ep(out, o, svc, sp, ep, f, chain);
	}
	/* An old service chain was flushed at the start. */
	nftbuf_printf(out, "add chain " FAM " %s %s\n", t, sc);
	if (sp->proto == CIP_PROTO_TCP && o->tcp_time_wait_s > 0)
		nftbuf_printf(out, "add rule " FAM " %s %s ct timeout set "
		    "\"%s\"\n", t, sc, f->ctt);
	if (svc->affinity == AFFINITY_CLIENTIP) {
		for (i = 0; i < r->n; i++) {
			const struct svc_endpoint *ep = &r->v[i];

			if (!ep_served(ep, f))
				continue;
			aff_set(svc, sp, ep, f, set, sizeof(set));
			ep_chain(svc, sp, ep, f, chain, sizeof(chain));
			nftbuf_printf(out, "add rule " FAM " %s %s %s saddr @%s "
			    "goto %s\n", t, sc, f->l3, set, chain);
		}
	}
	/*
	 * The choice is a cascade, as kube-proxy's iptables mode has it:
	 * rule k of N takes 1/(N-k) of what reaches it, which is 1/N of
	 * all. With numgen inc each rule keeps its own counter and matches
	 * once per round, so every endpoint gets one connection in turn.
	 * Not a numgen vmap: anonymous verdict maps make every later jump's
	 * loop check walk them all, so a table of 10,000 services took 20x
	 * longer to load.
	 */
	for (i = 0, k = 0; i < r->n; i++) {
		if (!ep_served(&r->v[i], f))
			continue;
		ep_chain(svc, sp, &r->v[i], f, chain, sizeof(chain));
		if (k + 1 < n)
			nftbuf_printf(out, "add rule " FAM " %s %s numgen %s "
			    "mod %" PRIu32 " 0 goto %s\n", t, sc, algo, n - k,
			    chain);
		else
			nftbuf_printf(out, "add rule " FAM " %s %s goto %s\n",
			    t, sc, chain);
		k++;
	}
	nftbuf_printf(out, "add element " FAM " %s %s { %s : goto %s }\n",
	    t, f->map, key, sc);
	if (nftrules_state_add(now, 'c', sc) < 0 || nftrules_state_add(now, f->mkind, key) < 0)
		return ERR_NOMEM;
	return 0;
}

/* Services the endpoint map serves: neither round-robin nor affinity. */
static bool
map_served(const struct service *svc)
{
	return svc->algo != LB_ROUND_ROBIN &&
	    svc->affinity != AFFINITY_CLIENTIP;
}

/*
 * Element changes: of every kind of old not in now (add false), or of
 * now not in old (add true), one command per run of one set, and one
 * "+:k:..." or "-:k:..." entry each in *ops when ops is not NULL.
 */
static int
emit_elems(struct nftbuf *out, const struct nftrules_opts *o,
    const struct nftrules_state *from, const struct nftrules_state *other,
    bool add, struct nftrules_state *ops)
{
	static const char kinds[] = "vVeEkKrR";
	char buf[NFTMAP_SET_MAX], last[NFTMAP_SET_MAX] = "";
	const char *k, *e, *colon, *set;
	size_t i;

	for (k = kinds; *k != '\0'; k++) {
		for (i = 0; i < from->n; i++) {
			if (from->v[i][0] != *k ||
			    nftrules_state_has(other, from->v[i]))
				continue;
			e = nftmap_text(from->v[i]);
			if ((set = nftmap_set_of(from->v[i], buf,
			    sizeof(buf))) == NULL)
				continue;
			if (strcmp(set, last) != 0)
				nftbuf_printf(out, "%s%s element " FAM " %s %s "
				    "{ ", last[0] ? " }\n" : "", add ? "add" :
				    "delete", TBL(o), set);
			else
				nftbuf_printf(out, ", ");
			strlcpy(last, set, sizeof(last));
			/* A deletion names the key only. */
			colon = add ? NULL : strstr(e, " : ");
			nftbuf_printf(out, "%.*s", colon ? (int)(colon - e) :
			    (int)strlen(e), e);
			if (ops != NULL && nftrules_state_add(ops, add ? '+' :
			    '-', from->v[i]) < 0)
				return ERR_NOMEM;
		}
	}
	if (last[0] != '\0')
		nftbuf_printf(out, " }\n");
	return out->err;
}

void
nftrules_delta_clear(struct nftrules_delta *d)
{
	nftrules_state_clear(&d->ops);
	d->slow = false;
}

int
nftrules_service(struct nftbuf *out, const struct nftrules_opts *o,
    const struct service *svc, const struct nftrules_state *old,
    struct nftrules_state *now, struct nftrules_delta *delta)
{
	const char *t = TBL(o);
	struct nftbuf body = { 0 };
	char key[96];
	size_t i;
	bool slow = false;
	int rc = 0;

	/* The chains' part first, aside: the element changes go around. */
	for (i = 0; svc != NULL && i < svc->nports && rc == 0; i++) {
		const struct svc_port *sp = &svc->ports[i];
		const struct nftfam *fams[] = { &fam4, &fam6 };
		size_t j;

		if (!port_served(sp))
			continue;
		for (j = 0; j < 2 && rc == 0; j++) {
			if (fams[j]->v6 ? in6_is_unset(&svc->ext->vip6) :
			    svc->vip.s_addr == 0)
				continue;
			if (!map_served(svc)) {
				rc = emit_chains(&body, o, svc, sp, fams[j],
				    old, now);
				continue;
			}
			elem_key(svc, sp, fams[j], key, sizeof(key));
			rc = nftmap_port(key, fam_ready(sp, fams[j]),
			    fams[j]->v6, now);
		}
	}
	if (rc != 0 || body.err != 0)
		goto fail;
	/* Nothing reaches the old chains once the elements are gone. */
	for (i = 0; i < old->n; i++) {
		const char *e = old->v[i] + 2;

		switch (old->v[i][0]) {
		case 'm':
		case 'M':
			slow = true;
			nftbuf_printf(out, "delete element " FAM " %s %s "
			    "{ %s }\n", t, old->v[i][0] == 'm' ? fam4.map :
			    fam6.map, e);
			break;
		case 'c':
		case 's':
			slow = true;
			if (strncmp(old->v[i], "c:svc", 5) == 0)
				nftbuf_printf(out, "flush chain " FAM " %s %s\n",
				    t, e);
		}
	}
	if (emit_elems(out, o, old, now, false, delta ? &delta->ops : NULL) !=
	    0)
		goto fail;
	if (body.len > 0) {
		slow = true;
		nftbuf_printf(out, "%s", body.p);
	}
	if (emit_elems(out, o, now, old, true, delta ? &delta->ops : NULL) !=
	    0)
		goto fail;
	/*
	 * What the service no longer needs, nothing jumping there any more:
	 * chains emptied and deleted, then sets.
	 */
	for (i = 0; i < old->n; i++)
		if (old->v[i][0] == 'c' && !nftrules_state_has(now, old->v[i]))
			nftbuf_printf(out, "flush chain " FAM " %s %s\n"
			    "delete chain " FAM " %s %s\n", t, old->v[i] + 2, t,
			    old->v[i] + 2);
	for (i = 0; i < old->n; i++)
		if (old->v[i][0] == 's' && !nftrules_state_has(now, old->v[i]))
			nftbuf_printf(out, "delete set " FAM " %s %s\n", t,
			    old->v[i] + 2);
	if (out->err != 0)
		goto fail;
	nftbuf_free(&body);
	if (delta != NULL && slow)
		delta->slow = true;
	return 0;
fail:
	nftbuf_free(&body);
	nftrules_state_clear(now);
	return ERR_NOMEM;
}

/* The VIP recorded in st for "udp . port" of one family. */
static bool
state_vip(const struct nftrules_state *st, const struct nftfam *f,
    unsigned port, struct nftrules_udp_gone *g)
{
	char a[INET6_ADDRSTRLEN], proto[8];
	unsigned p;
	size_t i;

	for (i = 0; i < st->n; i++) {
		if ((st->v[i][0] != f->mkind && st->v[i][0] != f->rkind) ||
		    sscanf(st->v[i] + 2, "%45s . %7s . %u", a, proto, &p) != 3 ||
		    strcmp(proto, "udp") != 0 || p != port)
			continue;
		if (inet_pton(f->v6 ? AF_INET6 : AF_INET, a, f->v6 ?
		    (void *)&g->vip6 : (void *)&g->vip) == 1)
			return true;
	}
	return false;
}

/* The address of an endpoint chain's name, as ep_hex wrote it. */
static bool
parse_hex(const char *h, const struct nftfam *f, struct nftrules_udp_gone *g)
{
	unsigned b;
	size_t i;

	if (strlen(h) != (f->v6 ? 32 : 8))
		return false;
	for (i = 0; i < strlen(h) / 2; i++) {
		if (sscanf(h + 2 * i, "%2x", &b) != 1)
			return false;
		if (f->v6)
			g->ep6.s6_addr[i] = (uint8_t)b;
		else
			((uint8_t *)&g->ep.s_addr)[i] = (uint8_t)b;
	}
	return true;
}

/* A UDP endpoint of the maps that left (its counter element), into *g. */
static bool
elem_gone(const struct nftrules_state *now, const char *entry,
    struct nftrules_udp_gone *g)
{
	struct nftmap_elem e;
	size_t n;

	if ((entry[0] != 'k' && entry[0] != 'K') ||
	    strstr(entry, " . udp . ") == NULL ||
	    nftrules_state_has(now, entry) ||
	    nftmap_encode(entry, false, &e) != 0)
		return false;
	memset(g, 0, sizeof(*g));
	g->v6 = entry[0] == 'K';
	n = g->v6 ? 16 : 4;
	if (g->v6) {
		memcpy(&g->vip6, e.key, 16);
		memcpy(&g->ep6, e.key + n + 8, 16);
	} else {
		memcpy(&g->vip, e.key, 4);
		memcpy(&g->ep, e.key + n + 8, 4);
	}
	g->port = (uint16_t)(e.key[n + 4] << 8 | e.key[n + 5]);
	g->ep_port = (uint16_t)(e.key[2 * n + 8] << 8 | e.key[2 * n + 9]);
	return true;
}

/* A UDP endpoint chain that left, into *g; false when none. */
static bool
chain_gone(const struct nftrules_state *old, const struct nftrules_state *now,
    const char *entry, struct nftrules_udp_gone *g)
{
	const struct nftfam *f;
	unsigned port, ep_port;
	char h[40];
	uint64_t hs;

	if (strncmp(entry, "c:ep", 4) != 0 || nftrules_state_has(now, entry))
		return false;
	f = entry[4] == '6' ? &fam6 : &fam4;
	memset(g, 0, sizeof(*g));
	g->v6 = f->v6;
	if (sscanf(entry + 5 + f->v6, "%16" SCNx64 "-udp-%u-%32[0-9a-f]-%u",
	    &hs, &port, h, &ep_port) != 4 || !parse_hex(h, f, g) ||
	    !state_vip(old, f, port, g))
		return false;
	g->port = (uint16_t)port;
	g->ep_port = (uint16_t)ep_port;
	return true;
}

int
nftrules_udp_removed(const struct nftrules_state *old,
    const struct nftrules_state *now, struct nftrules_udp_gone **v,
    size_t *n, size_t *cap)
{
	struct nftrules_udp_gone g, *nv;
	size_t i;

	for (i = 0; i < old->n; i++) {
		if (!elem_gone(now, old->v[i], &g) &&
		    !chain_gone(old, now, old->v[i], &g))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			if ((nv = reallocarray(*v, ncap, sizeof(*nv))) == NULL)
				return ERR_NOMEM;
			*v = nv;
			*cap = ncap;
		}
		(*v)[(*n)++] = g;
	}
	return 0;
}
