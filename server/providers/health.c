/* SPDX-License-Identifier: MIT */
/*
 * health.c -- readiness probes: one timer per probed pod launches a
 * non-blocking tcpSocket or httpGet check with its own timeout; the
 * verdict (probe.c hysteresis) goes to the registry when it flips.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "hmap.h"
#include "log.h"
#include "probe.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"
#include "health.h"

/* Bytes of a reply read before giving up on finding its status line. */
#define HEALTH_MAX_REPLY	1024

/* One probed pod. */
struct hcheck {
	char			*key;		/* pod key, also the map key */
	/* The pod's address probed, port aside; AF_UNSPEC when none. */
	struct sockaddr_storage	 addr;
	uint16_t		 port;		/* resolved; 0: named port unknown */
	struct probe		 spec;		/* deep copy */
	struct probe_state	 st;
	enum probe_reason	 last;
	struct event		*timer;
	struct bufferevent	*bev;		/* the check in flight */
};

static struct {
	struct runtime	*rt;
	struct hmap	*checks;
	bool		 subscribed;
} health;

static void	health_registry_cb(enum registry_event, const struct service *,
		    const struct pod *, void *);
static void	health_init_one(struct pod *, void *);
static void	health_pod_update(const struct pod *);
static void	health_pod_addr(const struct pod *, struct sockaddr_storage *);
static void	health_check_free(void *);
static void	health_schedule(struct hcheck *, uint32_t);
static void	health_launch_cb(evutil_socket_t, short, void *);
static void	health_event_cb(struct bufferevent *, short, void *);
static void	health_read_cb(struct bufferevent *, void *);
static void	health_done(struct hcheck *, enum probe_reason);

int
health_init(struct runtime *rt)
{
	memset(&health, 0, sizeof(health));
	health.rt = rt;
	if ((health.checks = hmap_new()) == NULL)
		return -1;
	if (registry_subscribe(rt->reg, health_registry_cb, NULL) != 0) {
		health_shutdown();
		return -1;
	}
	health.subscribed = true;
	registry_foreach_pod(rt->reg, health_init_one, NULL);
	return 0;
}

void
health_shutdown(void)
{
	if (health.rt == NULL)
		return;
	if (health.subscribed)
		registry_unsubscribe(health.rt->reg, health_registry_cb, NULL);
	if (health.checks != NULL)
		hmap_free(health.checks, health_check_free);
	memset(&health, 0, sizeof(health));
}

static void
health_init_one(struct pod *pod, void *arg)
{
	(void)arg;
	health_pod_update(pod);
}

static void
health_registry_cb(enum registry_event ev, const struct service *svc,
    const struct pod *pod, void *arg)
{
	(void)svc;
	(void)arg;
	if (pod == NULL)
		return;
	switch (ev) {
	case REG_POD_ADDED:
	case REG_POD_CHANGED:
		health_pod_update(pod);
		break;
	case REG_POD_REMOVED:
		health_check_free(hmap_del(health.checks, pod->key));
		break;
	default:
		break;
	}
}

/*
 * The address a probe of pod connects to, as the kubelet's: its podIP,
 * the first of its podIPs, of either family (an IPv6-only pod is probed
 * over IPv6). Port 0; family AF_UNSPEC when the pod has no address.
 */
static void
health_pod_addr(const struct pod *pod, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!in6_is_unset(&pod->ip6) &&
	    (pod->ip6_primary || pod->ip.s_addr == 0)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = pod->ip6;
	} else if (pod->ip.s_addr != 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr = pod->ip;
	} else
		ss->ss_family = AF_UNSPEC;
}

/* Starts, restarts, keeps or stops the probing of pod. */
static void
health_pod_update(const struct pod *pod)
{
	struct sockaddr_storage addr;
	struct hcheck *c;

	c = hmap_get(health.checks, pod->key);
	health_pod_addr(pod, &addr);
	if (pod->probe.kind == PROBE_NONE) {
		health_check_free(hmap_del(health.checks, pod->key));
		return;
	}
	if (c != NULL && probe_equal(&c->spec, &pod->probe) &&
	    memcmp(&c->addr, &addr, sizeof(addr)) == 0 &&
	    c->port == probe_port(pod)) {
		/* The same probe: keep counting, follow the registry's view. */
		if (c->st.ready != pod->probe_ok) {
			c->st.ready = pod->probe_ok;
			c->st.successes = c->st.failures = 0;
		}
		return;
	}
	health_check_free(hmap_del(health.checks, pod->key));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->spec = pod->probe;
	c->spec.port_name = NULL;
	c->spec.path = NULL;
	if ((c->key = strdup(pod->key)) == NULL ||
	    (pod->probe.port_name != NULL &&
	    (c->spec.port_name = strdup(pod->probe.port_name)) == NULL) ||
	    (c->spec.path = strdup(pod->probe.path != NULL ?
	    pod->probe.path : "/")) == NULL)
		goto fail;
	c->addr = addr;
	c->port = probe_port(pod);
	c->st.ready = pod->probe_ok;
	c->timer = evtimer_new(health.rt->base, health_launch_cb, c);
	if (c->timer == NULL || hmap_put(health.checks, pod->key, c, NULL) == -1)
		goto fail;
	health_schedule(c, c->spec.initial_delay_s * 1000);
	log_debug("health: %s: %s probe on port %u every %us", c->key,
	    c->spec.kind == PROBE_HTTP ? "http" : "tcp", c->port,
	    c->spec.period_s);
	return;
fail:
	log_warnx("health: %s: out of memory", pod->key);
	health_check_free(c);
}

static void
health_check_free(void *arg)
{
	struct hcheck *c = arg;

	if (c == NULL)
		return;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c->spec.port_name);
	free(c->spec.path);
	free(c->key);
	free(c);
}

static void
health_schedule(struct hcheck *c, uint32_t ms)
{
	struct timeval tv;

	evtimer_add(c->timer, ms_to_tv(ms, &tv));
}

static void
health_launch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hcheck *c = arg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (c->port == 0) {
		health_done(c, PROBE_NO_PORT);
		return;
	}
	/* No address: connecting to 0.0.0.0 would probe this host. */
	if (c->addr.ss_family == AF_UNSPEC) {
		health_done(c, PROBE_ERROR);
		return;
	}
	c->bev = bufferevent_socket_new(health.rt->base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		health_done(c, PROBE_ERROR);
		return;
	}
	ss = c->addr;
	if (ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->port);
		sslen = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons(c->port);
		sslen = sizeof(struct sockaddr_in);
	}
	tv.tv_sec = c->spec.timeout_s > 0 ? c->spec.timeout_s : 1;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setcb(c->bev, health_read_cb, NULL, health_event_cb, c);
	/*
	 * A failure inside the call is mostly reported through the (not
	 * deferred) event callback, which ends the check and clears c->bev;
	 * when it was not (no socket), end the check here.
	 */
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    (int)sslen) == -1 && c->bev != NULL)
		health_done(c, PROBE_ERROR);
}

static void
health_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hcheck *c = arg;
	char host[INET6_ADDRSTRLEN];
	bool v6 = c->addr.ss_family == AF_INET6;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->spec.kind == PROBE_TCP) {
			health_done(c, PROBE_OK);
			return;
		}
		if (inet_ntop(c->addr.ss_family, v6 ?
		    (const void *)&((struct sockaddr_in6 *)&c->addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)&c->addr)->sin_addr,
		    host, sizeof(host)) == NULL)
			strlcpy(host, "localhost", sizeof(host));
		/* RFC 7230 5.4: an IPv6 literal in brackets. */
		evbuffer_add_printf(bufferevent_get_output(bev),
		    "GET %s HTTP/1.0\r\nHost: %s%s%s:%u\r\n"
		    "User-Agent: clusterip-probe/1.0\r\nAccept: */*\r\n"
		    "Connection: close\r\n\r\n", c->spec.path,
		    v6 ? "[" : "", host, v6 ? "]" : "", c->port);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		health_done(c, PROBE_TIMEOUT);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* The whole reply is in: its status line decides. */
		health_read_cb(bev, c);
		if (c->bev != NULL)
			health_done(c, PROBE_BAD_REPLY);
		return;
	}
	health_done(c, c->spec.kind == PROBE_HTTP &&
	    (what & BEV_EVENT_READING) ? PROBE_BAD_REPLY : PROBE_REFUSED);
}

static void
health_read_cb(struct bufferevent *bev, void *arg)
{
	struct hcheck *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = MINIMUM(evbuffer_get_length(in), HEALTH_MAX_REPLY);
	const char *p;
	int status;

	if ((p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL)
		return;
	status = probe_http_status(p, len);
	if (status == 0)
		return;
	if (status < 0)
		health_done(c, PROBE_BAD_REPLY);
	else
		health_done(c, probe_http_ok(status) ? PROBE_OK :
		    PROBE_HTTP_STATUS);
}

/* Ends the check in flight, records its result, schedules the next one. */
static void
health_done(struct hcheck *c, enum probe_reason why)
{
	bool ok = why == PROBE_OK, flipped;
	char key[512];

	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (why != c->last || log_getlevel() >= LOG_LEVEL_DEBUG)
		log_debug("health: %s: %s", c->key, probe_reason_name(why));
	c->last = why;
	health_schedule(c, (c->spec.period_s > 0 ? c->spec.period_s : 1) *
	    1000);
	flipped = probe_state_record(&c->st, ok, c->spec.success_threshold,
	    c->spec.failure_threshold);
	if (!flipped)
		return;
	log_info("health: %s is %s (%s)", c->key,
	    c->st.ready ? "ready" : "not ready", probe_reason_name(why));
	/*
	 * The registry tells subscribers, us included, synchronously; c
	 * survives since its probe is unchanged, but copy the key anyway.
	 */
	strlcpy(key, c->key, sizeof(key));
	if (registry_set_probe_result(health.rt->reg, key, c->st.ready) != 0)
		log_debug("health: %s: gone", key);
}
