/* SPDX-License-Identifier: MIT */
/*
 * kernel.c -- the kernel data path: registry changes become nftables
 * transactions. A change marks its service dirty and wakes one zero-time
 * event, so that every change of one turn of the loop (a manifest, an
 * API batch, a probe verdict) lands in a single transaction right after
 * it.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>
#include <time.h>

#include <event2/event.h>

#include "conf.h"
#include "ctflush.h"
#include "hmap.h"
#include "kernel.h"
#include "kmetrics.h"
#include "log.h"
#include "metrics.h"
#include "nftapply.h"
#include "nftbatch.h"
#include "nftrules.h"
#include "proxymode.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"

/*
 * conntrack's TIME_WAIT and CLOSE for TCP to a VIP. The kernel keeps
 * 120 s, so a client opening connections at a high rate fills the
 * conntrack table with closed connections (8,000/s x 120 s is ~1M
 * entries, past nf_conntrack_max) and new ones are dropped. The
 * endpoints' own sockets keep their TIME_WAIT, which is what protects
 * against old duplicate segments.
 */
#define KERNEL_TCP_TIME_WAIT_S	5
/*
 * The counters are read this often, or 50 times as long as a reading
 * took (the whole table is listed: 10,000 services cost ~0.1 s), so
 * reading them takes at most 2 % of the loop.
 */
#define KERNEL_METRICS_MS	5000

/* What the table holds for one service, and what was said about it. */
struct ksvc {
	struct nftrules_state	 st;
	const char		*why;	/* reason logged for userspace */
};

static struct {
	struct runtime		*rt;
	struct nftapply		*nft;
	struct nftbatch		*batch;	/* element changes */
	struct nftrules_opts	 opts;
	struct hmap		*svcs;	/* key -> struct ksvc */
	struct hmap		*dirty;	/* key -> (void *)1 */
	struct event		*ev;	/* applies the dirty ones */
	struct event		*mev;	/* reads the counters */
	struct nftbuf		 buf;
	bool			 subscribed;
	bool			 collecting; /* conntrack read at scrapes */
	bool			 built;	/* the table exists */
	bool			 broken; /* the table cannot be programmed */
} k;

static void	kernel_registry_cb(enum registry_event,
    const struct service *, const struct pod *, void *);
static void	kernel_apply_cb(evutil_socket_t, short, void *);
static void	kernel_metrics_cb(evutil_socket_t, short, void *);
static int	kernel_build(void);
static void	kernel_collect(void *, struct metrics_round *);

static void
ksvc_free(void *p)
{
	struct ksvc *ks = p;

	if (ks == NULL)
		return;
	nftrules_state_clear(&ks->st);
	free(ks);
}


static enum proxy_mode
kernel_mode_of(const struct service *svc, const char **why)
{
	return service_proxy_mode(svc, (enum proxy_mode)k.rt->proxy_mode,
	    k.rt->kernel_ok, why);
}

/*
 * Interface mode: what neighbours send to a VIP is translated on
 * prerouting and then forwarded, so the namespace must forward the
 * family. Turned on (and logged) when off; the daemon never turns it
 * back off, as something else may have come to rely on it. A read-only
 * /proc/sys (a container without the sysctl set) leaves it off, warned.
 */
static void
kernel_forwarding_on(const char *name, const char *path)
{
	char c = 0;
	int fd;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1 &&
		    read(fd, &c, 1) == 1 && c == '1') {
			close(fd);
			return;
		}
		goto fail;
	}
	if (read(fd, &c, 1) != 1)
		goto fail;
	if (c == '1') {
		close(fd);
		return;
	}
	if (lseek(fd, 0, SEEK_SET) == -1 || write(fd, "1\n", 2) != 2)
		goto fail;
	close(fd);
	log_info("kernel: %s set to 1 (interface mode: neighbours' "
	    "connections to the VIPs are forwarded)", name);
	return;
fail:
	log_warn("kernel: %s is off and cannot be set: neighbours cannot "
	    "reach the kernel's VIPs (set %s=1 for the daemon's namespace, "
	    "in docker-compose with sysctls:)", name, name);
	if (fd != -1)
		close(fd);
}

static void
kernel_forwarding(void)
{
	if (k.rt->netif == NULL)
		return;
	if (conf_vip_range(k.rt->conf, AF_INET) != NULL)
		kernel_forwarding_on("net.ipv4.ip_forward",
		    "/proc/sys/net/ipv4/ip_forward");
	if (conf_vip_range(k.rt->conf, AF_INET6) != NULL)
		kernel_forwarding_on("net.ipv6.conf.all.forwarding",
		    "/proc/sys/net/ipv6/conf/all/forwarding");
}

static void
kernel_mark_one(struct service *svc, void *arg)
{
	(void)arg;
	if (hmap_put(k.dirty, svc->key, (void *)1, NULL) != 0)
		log_warnx("kernel: %s: out of memory", svc->key);
}

int
kernel_init(struct runtime *rt)
{
	memset(&k, 0, sizeof(k));
	k.rt = rt;
	/*
	 * In userspace mode a service may still ask for the kernel path,
	 * when the daemon has CAP_NET_ADMIN and keeps it (no --user).
	 */
	rt->kernel_ok = rt->proxy_mode == PROXY_MODE_NFTABLES ||
	    (rt->conf->user == NULL && proc_has_cap(CAP_NET_ADMIN));
	if (!rt->kernel_ok)
		return 0;
	k.opts.table = NFTRULES_TABLE;
	k.opts.prerouting = rt->netif != NULL;
	k.opts.tcp_time_wait_s = KERNEL_TCP_TIME_WAIT_S;
	if ((k.nft = nftapply_new()) == NULL ||
	    (k.batch = nftbatch_new()) == NULL ||
	    (k.svcs = hmap_new()) == NULL || (k.dirty = hmap_new()) == NULL ||
	    (k.ev = event_new(rt->base, -1, 0, kernel_apply_cb, NULL)) ==
	    NULL || (k.mev = evtimer_new(rt->base, kernel_metrics_cb,
	    NULL)) == NULL) {
		log_warnx("kernel: out of memory");
		goto fail;
	}
	if (registry_subscribe(rt->reg, kernel_registry_cb, NULL) != 0)
		goto fail;
	k.subscribed = true;
	if (metrics_collector_add_async(kernel_collect, NULL) != 0)
		goto fail;
	k.collecting = true;
	/*
	 * Destroy events cost every translated connection a netlink message
	 * and a parse (~40 µs of the machine's CPU per connection measured
	 * with bench/fwd-kernel.sh close mode): read only when asked for.
	 */
	if (rt->conf->kernel_ct_events)
		(void)kmetrics_conntrack_events(rt->base,
		    (const char *const *)rt->conf->vip_range.v,
		    rt->conf->vip_range.n);
	/*
	 * In nftables mode the table is built now, empty or not: a daemon
	 * that cannot program it must not start. In userspace mode it is
	 * built when the first service asks for the kernel path.
	 */
	registry_foreach_service(rt->reg, kernel_mark_one, NULL);
	if (rt->proxy_mode == PROXY_MODE_NFTABLES && kernel_build() != 0)
		goto fail;
	if (hmap_count(k.dirty) > 0)
		event_active(k.ev, EV_TIMEOUT, 0);
	return 0;
fail:
	kernel_shutdown();
	return -1;
}

void
kernel_shutdown(void)
{
	char err[512];

	if (k.rt == NULL)
		return;
	if (k.subscribed)
		registry_unsubscribe(k.rt->reg, kernel_registry_cb, NULL);
	if (k.built) {
		nftbuf_reset(&k.buf);
		if (nftrules_delete_table(&k.buf, &k.opts) != 0 ||
		    nftapply_run(k.nft, k.buf.p, err, sizeof(err)) != 0)
			log_warnx("kernel: table %s not deleted: %s",
			    k.opts.table, k.buf.err ? "out of memory" : err);
		else
			log_info("kernel: table inet %s deleted", k.opts.table);
	}
	if (k.collecting)
		metrics_collector_del_async(kernel_collect, NULL);
	kmetrics_conntrack_shutdown();
	if (k.ev != NULL)
		event_free(k.ev);
	if (k.mev != NULL)
		event_free(k.mev);
	kmetrics_shutdown();
	hmap_free(k.svcs, ksvc_free);
	hmap_free(k.dirty, NULL);
	nftapply_free(k.nft);
	nftbatch_free(k.batch);
	nftbuf_free(&k.buf);
	memset(&k, 0, sizeof(k));
}

static void
kernel_registry_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	(void)pod;
	(void)arg;
	if (svc == NULL || k.broken)
		return;
	/* Pod events reach services as REG_ENDPOINTS_CHANGED. */
	if (ev != REG_SVC_ADDED && ev != REG_SVC_CHANGED &&
	    ev != REG_SVC_REMOVED && ev != REG_ENDPOINTS_CHANGED)
		return;
	/*
	 * Before the table is built (userspace mode), only a service that
	 * asks for the kernel path matters: recording every one cost a
	 * start with 100,000 services 80 ms and 6 MiB.
	 */
	if (!k.built && kernel_mode_of(svc, NULL) != PROXY_MODE_NFTABLES)
		return;
	if (hmap_put(k.dirty, svc->key, (void *)1, NULL) != 0)
		log_warnx("kernel: %s: out of memory", svc->key);
	event_active(k.ev, EV_TIMEOUT, 0);
}

/* Logs once per reason why a service that asked stays in userspace. */
static void
kernel_note(const struct service *svc, struct ksvc *ks, const char *why)
{
	if (ks->why == why)
		return;
	ks->why = why;
	if (why != NULL)
		log_info("kernel: service %s stays on the userspace "
		    "forwarder: %s", svc->key, why);
}

static void
kernel_flush_udp(struct nftrules_udp_gone *g, size_t n)
{
	char err[256];
	int rc;

	if (n == 0)
		return;
	if ((rc = ctflush_udp(g, n, err, sizeof(err))) < 0)
		log_warnx("kernel: UDP flows of removed endpoints kept: %s",
		    err);
	else if (rc > 0)
		log_debug("kernel: %d UDP conntrack entries of removed "
		    "endpoints deleted", rc);
}

/*
 * The whole table from the registry in one transaction: the table
 * replaced by an empty one, then every service the kernel serves.
 */
static int
kernel_build(void)
{
	struct nftrules_state empty = { 0 };
	struct hmap *svcs;
	struct hmap_iter it;
	const char *key;
	void *val;
	char err[1024];
	uint64_t t0 = now_ms();
	size_t n = 0;

	if ((svcs = hmap_new()) == NULL)
		return -1;
	nftbuf_reset(&k.buf);
	(void)nftrules_base(&k.buf, &k.opts);
	/* Every service is considered: walk the registry, not the dirty. */
	hmap_free(k.dirty, NULL);
	if ((k.dirty = hmap_new()) == NULL) {
		hmap_free(svcs, ksvc_free);
		return -1;
	}
	registry_foreach_service(k.rt->reg, kernel_mark_one, NULL);
	hmap_iter_init(&it, k.dirty);
	while (hmap_iter_next(&it, &key, &val)) {
		const struct service *svc;
		struct ksvc *ks, *old;
		const char *why;
		bool want;

		if ((svc = registry_find_service_key(k.rt->reg, key)) == NULL)
			continue;
		want = kernel_mode_of(svc, &why) == PROXY_MODE_NFTABLES;
		if ((!want && why == NULL) ||
		    (ks = calloc(1, sizeof(*ks))) == NULL)
			continue;
		old = hmap_get(k.svcs, key);
		ks->why = old != NULL ? old->why : NULL;
		if (want) {
			(void)nftrules_service(&k.buf, &k.opts, svc, &empty,
			    &ks->st, NULL);
			n++;
		}
		kernel_note(svc, ks, why);
		if (hmap_put(svcs, key, ks, NULL) != 0)
			ksvc_free(ks);
	}
	hmap_free(k.dirty, NULL);
	k.dirty = hmap_new();
	if (k.buf.err != 0 || k.dirty == NULL) {
		log_warnx("kernel: out of memory building the table");
		hmap_free(svcs, ksvc_free);
		return -1;
	}
	if (nftapply_run(k.nft, k.buf.p, err, sizeof(err)) != 0) {
		hmap_free(svcs, ksvc_free);
		if (!k.built && k.opts.tcp_time_wait_s > 0 &&
		    strstr(err, "Operation not permitted") == NULL) {
			/* A kernel without conntrack timeout policies. */
			log_warnx("kernel: table inet %s refused (%s); again "
			    "without the TIME_WAIT policy", k.opts.table, err);
			k.opts.tcp_time_wait_s = 0;
			return kernel_build();
		}
		log_warnx("kernel: table inet %s not programmed: %s",
		    k.opts.table, err);
		return -1;
	}
	hmap_free(k.svcs, ksvc_free);
	k.svcs = svcs;
	if (!k.built) {
		kernel_forwarding();
		kernel_metrics_cb(-1, 0, NULL);
	}
	k.built = true;
	log_info("kernel: table inet %s built: %zu services in the kernel "
	    "(%zu bytes of rules, %llu ms)", k.opts.table, n, k.buf.len,
	    (unsigned long long)(now_ms() - t0));
	return 0;
}

void
kernel_resync(void)
{
	if (k.rt == NULL || k.nft == NULL || (!k.built &&
	    k.rt->proxy_mode != PROXY_MODE_NFTABLES))
		return;
	k.broken = false;
	if (kernel_build() != 0)
		log_warnx("kernel: resync failed; the table kept as it was");
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool
kernel_wants(const struct service *svc)
{
	return kernel_mode_of(svc, NULL) == PROXY_MODE_NFTABLES;
}

/* The counters into the metrics, then the next reading armed. */
static void
kernel_metrics_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv;
	uint64_t t0 = now_ms(), ms;

	(void)arg;
	if (fd == -1 && what == EV_TIMEOUT)
		(void)kmetrics_poll(k.nft, &k.opts, k.rt->reg, kernel_wants);
	ms = (now_ms() - t0) * 50;
	if (ms < KERNEL_METRICS_MS)
		ms = KERNEL_METRICS_MS;
	evtimer_add(k.mev, ms_to_tv(ms, &tv));
}

/* The scrape's conntrack read is done (on the loop). */
static void
kernel_collected(void *arg)
{
	metrics_round_done(arg);
}

/*
 * A scrape: the open connections and bytes of the kernel's services
 * from one conntrack dump (~N ms for 10,000 entries of the table's, see
 * the README), made on the state writer's thread; the scrape is
 * answered when it is done. The metrics layer runs one such round at a
 * time, and scrapes meanwhile join it.
 */
static void
kernel_collect(void *arg, struct metrics_round *r)
{
	(void)arg;
	if (!k.built || kmetrics_conntrack_start(k.rt->sw, k.rt->reg,
	    kernel_wants, kernel_collected, r) != 0)
		metrics_round_done(r);
}

/* The service's record, created when absent; NULL on OOM. */
static struct ksvc *
ksvc_get(const char *key)
{
	struct ksvc *ks = hmap_get(k.svcs, key);

	if (ks != NULL)
		return ks;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return NULL;
	if (hmap_put(k.svcs, key, ks, NULL) != 0) {
		free(ks);
		return NULL;
	}
	return ks;
}

/* True when a dirty service wants the kernel path. */
static bool
kernel_any_wanted(void)
{
	const struct service *svc;
	struct hmap_iter it;
	const char *key;
	void *val;

	hmap_iter_init(&it, k.dirty);
	while (hmap_iter_next(&it, &key, &val))
		if ((svc = registry_find_service_key(k.rt->reg, key)) !=
		    NULL && kernel_mode_of(svc, NULL) == PROXY_MODE_NFTABLES)
			return true;
	return false;
}

/*
 * One transaction: element changes only go as a netlink batch (no cache
 * read, no validation of the table's chains), anything else as the
 * text through libnftables. A batch refused is tried again as text.
 */
static int
kernel_commit(const struct nftrules_delta *d, char *err, size_t errlen)
{
	if (!d->slow) {
		if (nftbatch_run(k.batch, k.opts.table, &d->ops, err,
		    errlen) == 0)
			return 0;
		log_debug("kernel: batch refused (%s); as text", err);
	}
	return nftapply_run(k.nft, k.buf.p, err, errlen);
}

/* One turn's changes: one transaction. */
static void
kernel_apply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nftrules_state *now = NULL, empty = { 0 };
	struct nftrules_udp_gone *gone = NULL;
	struct nftrules_delta delta = { 0 };
	size_t ngone = 0, capgone = 0, i, nc = 0, nd;
	const char **keys = NULL;
	struct hmap_iter it;
	const char *key;
	void *val;
	char err[1024];
	uint64_t t0 = now_us();

	(void)fd;
	(void)what;
	if (k.broken || (nd = hmap_count(k.dirty)) == 0)
		goto out;
	if (!k.built) {
		/* Userspace mode: built for the first service that asks. */
		if (kernel_any_wanted() && kernel_build() != 0) {
			k.broken = true;
			log_warnx("kernel: the kernel path is off");
		}
		goto out;
	}
	if ((now = calloc(nd, sizeof(*now))) == NULL ||
	    (keys = calloc(nd, sizeof(*keys))) == NULL)
		goto resync;
	nftbuf_reset(&k.buf);
	hmap_iter_init(&it, k.dirty);
	while (hmap_iter_next(&it, &key, &val)) {
		const struct service *svc;
		struct ksvc *ks = hmap_get(k.svcs, key);
		const char *why = NULL;
		bool want;

		svc = registry_find_service_key(k.rt->reg, key);
		want = svc != NULL && kernel_mode_of(svc, &why) ==
		    PROXY_MODE_NFTABLES;
		if (svc != NULL && (want || why != NULL || ks != NULL) &&
		    (ks = ksvc_get(key)) != NULL)
			kernel_note(svc, ks, why);
		if (!want && (ks == NULL || ks->st.n == 0))
			continue;	/* neither in the table nor going */
		keys[nc] = key;
		if (nftrules_service(&k.buf, &k.opts, want ? svc : NULL,
		    ks ? &ks->st : &empty, &now[nc], &delta) != 0 ||
		    nftrules_udp_removed(ks ? &ks->st : &empty, &now[nc],
		    &gone, &ngone, &capgone) != 0)
			goto resync;
		nc++;
	}
	if (k.buf.len > 0 && kernel_commit(&delta, err, sizeof(err)) != 0) {
		log_warnx("kernel: update refused (%s); full resync", err);
		goto resync;
	}
	for (i = 0; i < nc; i++) {
		struct ksvc *ks = hmap_get(k.svcs, keys[i]);

		if (ks == NULL && now[i].n > 0 &&
		    (ks = ksvc_get(keys[i])) == NULL)
			goto resync;	/* the table has what we lost */
		if (ks == NULL)
			continue;
		nftrules_state_clear(&ks->st);
		ks->st = now[i];
		memset(&now[i], 0, sizeof(now[i]));
	}
	/* Services gone from the registry: their records too. */
	hmap_iter_init(&it, k.dirty);
	while (hmap_iter_next(&it, &key, &val))
		if (registry_find_service_key(k.rt->reg, key) == NULL)
			ksvc_free(hmap_del(k.svcs, key));
	kernel_flush_udp(gone, ngone);
	log_debug("kernel: %zu services changed, %zu in one transaction "
	    "(%s: %zu bytes of commands, %zu element changes, %.3f ms)", nd,
	    nc, delta.slow ? "libnftables" : "netlink batch", k.buf.len,
	    delta.ops.n, (double)(now_us() - t0) / 1000);
	goto out;
resync:
	if (kernel_build() != 0)
		log_warnx("kernel: resync failed; the table kept as it was");
out:
	nftrules_delta_clear(&delta);
	for (i = 0; now != NULL && i < nd; i++)
		nftrules_state_clear(&now[i]);
	free(now);
	free(keys);
	free(gone);
	/* keys pointed into the dirty map: emptied only now. */
	hmap_free(k.dirty, NULL);
	if ((k.dirty = hmap_new()) == NULL)
		fatalx("kernel: out of memory");
}
