/* SPDX-License-Identifier: MIT */
/*
 * test_listen_guard.c -- out of descriptors, a guarded listener closes the
 * pending connection (the client reads EOF, not a hang), pauses, then
 * accepts again; a hold keeps it from accepting until released.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listen_guard.h"
#include "util.h"

#define PAUSE_MS	300

struct fixture {
	struct event_base	*base;
	struct evconnlistener	*lis;
	struct listen_guard	*g;
	struct sockaddr_in	 sin;
	int			 accepted;
};

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct fixture *f = arg;

	(void)lis;
	(void)sa;
	(void)salen;
	f->accepted++;
	close(fd);
}

static int
setup(void **state)
{
	static struct fixture f;
	socklen_t len = sizeof(f.sin);

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	assert_non_null(f.base);
	f.sin.sin_family = AF_INET;
	f.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f.lis = evconnlistener_new_bind(f.base, accept_cb, &f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&f.sin, sizeof(f.sin));
	assert_non_null(f.lis);
	assert_int_equal(getsockname(evconnlistener_get_fd(f.lis),
	    (struct sockaddr *)&f.sin, &len), 0);
	f.g = listen_guard_new(f.base, "test", PAUSE_MS);
	assert_non_null(f.g);
	assert_int_equal(listen_guard_add(f.g, f.lis), 0);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	listen_guard_remove(f->g, f->lis);
	evconnlistener_free(f->lis);
	listen_guard_free(f->g);
	event_base_free(f->base);
	return 0;
}

static void
run_ms(struct fixture *f, uint64_t ms)
{
	struct timeval tv;

	event_base_loopexit(f->base, ms_to_tv(ms, &tv));
	event_base_dispatch(f->base);
}

static int
client(struct fixture *f)
{
	struct timeval tv = { 2, 0 };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	return fd;
}

static void
test_emfile(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, rl;
	int fill[256], nfill = 0, c1, c2, i;
	char b;

	c1 = client(f);
	c2 = client(f);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nfill < (int)CIP_ARRAY_LEN(fill) &&
	    (fill[nfill] = open("/dev/null", O_RDONLY)) != -1)
		nfill++;
	assert_int_equal(errno, EMFILE);

	/* Out of descriptors: the client is closed, accepting pauses. */
	assert_int_equal(connect(c1, (struct sockaddr *)&f->sin,
	    sizeof(f->sin)), 0);
	run_ms(f, 50);
	assert_int_equal(f->accepted, 0);
	assert_true(listen_guard_pausing(f->g));
	assert_int_equal(read(c1, &b, 1), 0);

	/* Descriptors back: accepting resumes after the pause. */
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(connect(c2, (struct sockaddr *)&f->sin,
	    sizeof(f->sin)), 0);
	run_ms(f, 50);
	assert_int_equal(f->accepted, 0);
	run_ms(f, PAUSE_MS);
	assert_false(listen_guard_pausing(f->g));
	assert_int_equal(f->accepted, 1);
	close(c1);
	close(c2);
}

static void
test_hold(void **state)
{
	struct fixture *f = *state;
	int c;

	listen_guard_hold(f->g, true);
	c = client(f);
	assert_int_equal(connect(c, (struct sockaddr *)&f->sin,
	    sizeof(f->sin)), 0);
	run_ms(f, 50);
	assert_int_equal(f->accepted, 0);
	listen_guard_hold(f->g, false);
	run_ms(f, 50);
	assert_int_equal(f->accepted, 1);
	close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_emfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
