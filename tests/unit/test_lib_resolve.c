/* SPDX-License-Identifier: MIT */
/*
 * test_lib_resolve.c -- libclusterip's resolver against a DNS responder on
 * a real UDP socket in the same event loop: the SRV record of the lowest
 * priority (then highest weight) and its A record, NODATA and NXDOMAIN as
 * CIP_ENOTFOUND, REFUSED as CIP_EFAIL, pending queries cancelled by
 * cip_resolver_free, and the arguments it refuses.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <ldns/ldns.h>

#include "clusterip/clusterip.h"

struct responder {
	int		 fd;
	struct event	*ev;
	char		 server[64];
	int		 queries;
};

struct outcome {
	int		 done;
	int		 status;
	struct cip_endpoint ep;
	char		 reason[128];
};

static void
add_rr(ldns_pkt *p, const char *text)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 30, NULL, NULL),
	    LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

/*
 * The zone of the tests, by query name (c-ares tries the search domains
 * first, so the names are the fully qualified ones):
 *   _http._tcp.multi...  SRV: two records, priority 5 wins
 *   a.multi., b.multi.   A
 *   plain...             A 10.9.0.1
 *   _http._tcp.noport... NOERROR without records (NODATA)
 *   *refused*            REFUSED
 *   *silent*             no answer at all
 *   anything else        NXDOMAIN
 */
static void
respond_cb(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	uint8_t buf[1500], *wire = NULL;
	ldns_pkt *q = NULL, *a;
	ldns_rr *qrr;
	char *name;
	size_t wlen;
	ssize_t n;

	(void)what;
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	if (n <= 0 || ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
		return;
	r->queries++;
	qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	name = ldns_rdf2str(ldns_rr_owner(qrr));
	a = ldns_pkt_new();
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(q));
	ldns_pkt_set_aa(a, true);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	if (strstr(name, "silent") != NULL) {
		ldns_pkt_free(a);
		goto out;
	}
	if (strstr(name, "refused") != NULL)
		ldns_pkt_set_rcode(a, LDNS_RCODE_REFUSED);
	else if (strcmp(name, "_http._tcp.multi.default.svc.cluster.local.") ==
	    0) {
		add_rr(a, "_http._tcp.multi.default.svc.cluster.local. 30 IN "
		    "SRV 10 50 1111 a.multi.");
		add_rr(a, "_http._tcp.multi.default.svc.cluster.local. 30 IN "
		    "SRV 5 1 2222 b.multi.");
		add_rr(a, "_http._tcp.multi.default.svc.cluster.local. 30 IN "
		    "SRV 5 9 3333 c.multi.");
	} else if (strcmp(name, "c.multi.") == 0)
		add_rr(a, "c.multi. 30 IN A 10.9.0.3");
	else if (strcmp(name, "plain.default.svc.cluster.local.") == 0)
		add_rr(a, "plain.default.svc.cluster.local. 30 IN A 10.9.0.1");
	else if (strcmp(name, "_http._tcp.noport.default.svc.cluster.local.")
	    != 0)
		ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
	if (ldns_pkt2wire(&wire, a, &wlen) == LDNS_STATUS_OK)
		(void)sendto(fd, wire, wlen, 0, (struct sockaddr *)&from,
		    fromlen);
	free(wire);
	ldns_pkt_free(a);
out:
	free(name);
	ldns_pkt_free(q);
}

static int
setup(void **state)
{
	struct event_base *base = event_base_new();

	assert_non_null(base);
	*state = base;
	return 0;
}

static int
teardown(void **state)
{
	event_base_free(*state);
	return 0;
}

static void
responder_start(struct responder *r, struct event_base *base)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(r, 0, sizeof(*r));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(r->server, sizeof(r->server), "127.0.0.1:%u",
	    ntohs(sin.sin_port));
	r->ev = event_new(base, r->fd, EV_READ | EV_PERSIST, respond_cb, r);
	assert_non_null(r->ev);
	event_add(r->ev, NULL);
}

static void
responder_stop(struct responder *r)
{
	event_free(r->ev);
	close(r->fd);
}

static void
outcome_cb(int status, const struct cip_endpoint *ep, const char *reason,
    void *arg)
{
	struct outcome *o = arg;

	o->done++;
	o->status = status;
	if (ep != NULL)
		o->ep = *ep;
	else
		assert_int_not_equal(status, CIP_OK);
	snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "");
}

/* Resolves name (and port_name) with the loop until the callback ran. */
static void
resolve(struct event_base *base, struct cip_resolver *res, const char *name,
    const char *port_name, struct outcome *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	assert_int_equal(cip_resolve(res, name, port_name, outcome_cb, o), 0);
	for (i = 0; i < 1000 && !o->done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(o->done, 1);
}

static void
test_srv_then_a(void **state)
{
	struct event_base *base = *state;
	struct responder r;
	struct cip_resolver *res;
	struct outcome o;
	char err[256], a[INET_ADDRSTRLEN];

	responder_start(&r, base);
	res = cip_resolver_new(base, r.server, err, sizeof(err));
	assert_non_null(res);
	resolve(base, res, "multi", "http", &o);
	assert_int_equal(o.status, CIP_OK);
	/* Priority 5 beats 10; of the two at 5, weight 9 beats 1. */
	assert_int_equal(o.ep.port, 3333);
	assert_string_equal(o.ep.name, "c.multi");
	inet_ntop(AF_INET, &o.ep.addr, a, sizeof(a));
	assert_string_equal(a, "10.9.0.3");

	resolve(base, res, "plain", NULL, &o);
	assert_int_equal(o.status, CIP_OK);
	assert_int_equal(o.ep.port, 0);
	inet_ntop(AF_INET, &o.ep.addr, a, sizeof(a));
	assert_string_equal(a, "10.9.0.1");
	cip_resolver_free(res);
	responder_stop(&r);
}

static void
test_not_found_and_refused(void **state)
{
	struct event_base *base = *state;
	struct responder r;
	struct cip_resolver *res;
	struct outcome o;
	char err[256];

	responder_start(&r, base);
	res = cip_resolver_new(base, r.server, err, sizeof(err));
	assert_non_null(res);
	resolve(base, res, "nosuch", NULL, &o);
	assert_int_equal(o.status, CIP_ENOTFOUND);
	resolve(base, res, "nosuch", "http", &o);
	assert_int_equal(o.status, CIP_ENOTFOUND);
	/* The name exists, with no SRV record. */
	resolve(base, res, "noport", "http", &o);
	assert_int_equal(o.status, CIP_ENOTFOUND);
	resolve(base, res, "refused", NULL, &o);
	assert_int_equal(o.status, CIP_EFAIL);
	assert_true(o.reason[0] != '\0');
	cip_resolver_free(res);
	responder_stop(&r);
}

static void
test_free_cancels(void **state)
{
	struct event_base *base = *state;
	struct responder r;
	struct cip_resolver *res;
	struct outcome o1, o2;
	char err[256];
	int i;

	responder_start(&r, base);
	res = cip_resolver_new(base, r.server, err, sizeof(err));
	assert_non_null(res);
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	assert_int_equal(cip_resolve(res, "silent", "http", outcome_cb, &o1),
	    0);
	assert_int_equal(cip_resolve(res, "silent", NULL, outcome_cb, &o2), 0);
	for (i = 0; i < 100 && r.queries < 2; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(r.queries >= 2);
	assert_int_equal(o1.done + o2.done, 0);
	cip_resolver_free(res);
	assert_int_equal(o1.done, 1);
	assert_int_equal(o1.status, CIP_ECANCELLED);
	assert_int_equal(o2.done, 1);
	assert_int_equal(o2.status, CIP_ECANCELLED);
	responder_stop(&r);
}

static void
test_refused_arguments(void **state)
{
	struct event_base *base = *state;
	struct cip_resolver *res;
	struct outcome o;
	struct cip_endpoint ep;
	char err[256], longname[300];

	res = cip_resolver_new(base, "not an address", err, sizeof(err));
	assert_null(res);
	assert_non_null(strstr(err, "bad DNS server"));

	res = cip_resolver_new(base, "127.0.0.1:9", err, sizeof(err));
	assert_non_null(res);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(cip_resolve(res, "", NULL, outcome_cb, &o), -1);
	assert_int_equal(cip_resolve(res, NULL, NULL, outcome_cb, &o), -1);
	assert_int_equal(cip_resolve(res, longname, NULL, outcome_cb, &o), -1);
	assert_int_equal(cip_resolve(res, "x", "", outcome_cb, &o), -1);
	assert_int_equal(cip_resolve(res, "x", "a-port-name-too-long",
	    outcome_cb, &o), -1);
	cip_resolver_free(res);
	cip_resolver_free(NULL);

	assert_int_equal(cip_resolve_blocking("127.0.0.1:9", "", NULL, &ep,
	    err, sizeof(err)), CIP_EFAIL);
	assert_non_null(strstr(err, "bad name"));
	assert_int_equal(cip_resolve_blocking("nonsense", "x", NULL, &ep,
	    err, sizeof(err)), CIP_EFAIL);
	assert_non_null(strstr(err, "bad DNS server"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_srv_then_a, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_cancels, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_arguments, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
