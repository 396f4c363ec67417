/* SPDX-License-Identifier: MIT */
/* main.c -- clusteripd: flags, configuration, the loop, signals, reload, exit. */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "checkcaps.h"
#include "conf.h"
#include "dns_server.h"
#include "docker.h"
#include "cluster.h"
#include "health.h"
#include "kernel.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "netif.h"
#include "privdrop.h"
#include "proxymode.h"
#include "proxy.h"
#include "registry.h"
#include "runtime.h"
#include "util.h"
#include "statewr.h"
#include "vip.h"
#include "watch.h"

/* Read when no -c is given and it exists. */
#define CIPD_DEFAULT_CONF	SYSCONFDIR "/clusterip/clusteripd.yaml"

enum {
	OPT_CHECK_CONFIG = 1000,
	OPT_HELP,
	OPT_VERSION,
	OPT_CONF_BASE = 2000,	/* + index in the option table */
};

static struct runtime rt;
/* Loopback mode with an IPv6 range: lo, holding the range's local route. */
static struct netif *lo_route6;
static int saved_argc;
static char **saved_argv;

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: clusteripd [-c FILE] [--check-config] [options]\n"
	    "\nKubernetes-style ClusterIP services: authoritative DNS for "
	    "service names\nand a forwarder on each service's virtual IP.\n\n"
	    "  -c, --config FILE     read this YAML configuration first\n"
	    "                        (default: " CIPD_DEFAULT_CONF "\n"
	    "                        when it exists)\n"
	    "      --check-config    check configuration and manifests as "
	    "start-up would,\n                        print the effective "
	    "configuration, exit\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version\n\n"
	    "Every setting of the configuration file is also a flag; the flag "
	    "wins:\n");
	for (i = 0; i < conf_option_count(); i++) {
		const struct conf_option_info *o = conf_option(i);
		char left[64];
		snprintf(left, sizeof(left), "--%s%s", o->name,
		    o->is_bool ? "" : o->flag_default ? "[=VALUE]" : " VALUE");
		fprintf(fp, "  %-30s %s%s\n", left, o->help,
		    o->is_list ? " (repeatable)" : "");
	}
}

/* Builds the long option table from the configuration table. */
static struct option *
build_longopts(void)
{
	static const struct option fixed[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	size_t n = conf_option_count(), i, nf = CIP_ARRAY_LEN(fixed);
	struct option *lo = xcalloc(n + nf + 1, sizeof(*lo));

	memcpy(lo, fixed, sizeof(fixed));
	for (i = 0; i < n; i++) {
		const struct conf_option_info *o = conf_option(i);
		lo[nf + i].name = o->name;
		lo[nf + i].has_arg = (o->is_bool || o->flag_default) ?
		    optional_argument : required_argument;
		lo[nf + i].val = OPT_CONF_BASE + (int)i;
	}
	return lo;
}

/*
 * Reads the configuration: defaults, then the file of -c (else
 * CIPD_DEFAULT_CONF when it exists), then the flags in order. Returns NULL
 * with a message in err. *check is set by --check-config, even on error;
 * *used to the file read (in argv or static), or NULL.
 */
static struct cip_conf *
load_conf(int argc, char **argv, bool *check, const char **used, char *err,
    size_t errlen)
{
	struct option *lo = build_longopts();
	struct cip_conf *c = conf_new_defaults();
	const char *file = NULL;
	bool *seen_list = xcalloc(conf_option_count(), sizeof(bool));
	int ch;

	if (c == NULL)
		fatalx("out of memory");
	*check = false;
	/* First pass: -c only, so that flags override the file. */
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:hV", lo, NULL)) != -1) {
		if (ch == 'c')
			file = optarg;
		else if (ch == OPT_CHECK_CONFIG)
			*check = true;
	}
	if (file == NULL && access(CIPD_DEFAULT_CONF, F_OK) == 0)
		file = CIPD_DEFAULT_CONF;
	*used = file;
	if (file != NULL && conf_parse_file(c, file, err, errlen) != 0)
		goto fail;
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "c:hV", lo, NULL)) != -1) {
		const struct conf_option_info *o;
		const char *val;
		switch (ch) {
		case 'c':
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("clusteripd %s\n", PACKAGE_VERSION);
			exit(0);
		case OPT_CHECK_CONFIG:
			*check = true;
			break;
		default:
			if (ch < OPT_CONF_BASE) {
				usage(stderr);
				exit(2);
			}
			o = conf_option((size_t)(ch - OPT_CONF_BASE));
			val = optarg ? optarg : o->is_bool ? "true" :
			    o->flag_default;
			if (conf_set(c, o->name, val,
			    !seen_list[ch - OPT_CONF_BASE], err, errlen) != 0)
				goto fail;
			seen_list[ch - OPT_CONF_BASE] = true;
		}
	}
	if (optind < argc) {
		errf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
		goto fail;
	}
	if (conf_validate(c, err, errlen) != 0)
		goto fail;
	free(lo);
	free(seen_list);
	return c;
fail:
	free(lo);
	free(seen_list);
	conf_free(c);
	return NULL;
}

/*
 * --check-config: the state directory must exist and be writable, or be
 * creatable in its nearest existing ancestor. 0, or -1 with a reason.
 */
static int
check_state_dir(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX], *slash;
	struct stat st;

	if (strlcpy(buf, dir, sizeof(buf)) >= sizeof(buf)) {
		errf(err, errlen, "state-dir: path too long");
		return -1;
	}
	while (stat(buf, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			errf(err, errlen, "state-dir: %s: %s", buf,
			    strerror(errno));
			return -1;
		}
		if ((slash = strrchr(buf, '/')) == NULL)
			strlcpy(buf, ".", sizeof(buf));
		else if (slash == buf)
			buf[1] = '\0';
		else
			*slash = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		errf(err, errlen, "state-dir: %s is not a directory", buf);
		return -1;
	}
	if (access(buf, W_OK | X_OK) != 0) {
		errf(err, errlen, "state-dir: %s%s: %s", strcmp(buf, dir) ?
		    "cannot create it in " : "", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --check-config: what start-up refuses before it binds DNS and VIPs.
 * 0, or -1 with a reason in err.
 */
static int
check_startup(const struct cip_conf *c, char *err, size_t errlen)
{
	struct privdrop *pd;

	if (check_state_dir(c->state_dir, err, errlen) != 0)
		return -1;
	if (c->user != NULL) {
		if ((pd = privdrop_new(c->user, c->docker, err, errlen)) ==
		    NULL)
			return -1;
		privdrop_free(pd);
	}
	if (c->vip_interface != NULL && if_nametoindex(c->vip_interface) ==
	    0) {
		errf(err, errlen, "vip-interface: %s: %s", c->vip_interface,
		    strerror(errno));
		return -1;
	}
	return api_check_conf(c, err, errlen);
}

/*
 * --check-config: loads the manifests into a scratch registry with a
 * scratch VIP pool, so everything a real load refuses is refused here.
 * Returns the number of files refused.
 */
static int
check_manifests(const struct cip_conf *c)
{
	struct vip_pool *vips;
	struct registry *reg;
	struct mwatch *w;
	char err[1024];
	int bad;

	if ((vips = vip_pool_new_ranges((const char *const *)c->vip_range.v,
	    c->vip_range.n, NULL, err, sizeof(err))) ==
	    NULL || (reg = registry_new(vips)) == NULL)
		fatalx("%s", err);
	if ((w = mwatch_start(NULL, reg, c->manifests, err,
	    sizeof(err))) == NULL) {
		log_warnx("manifests: %s", err);
		bad = 1;
	} else
		bad = mwatch_failed(w);
	mwatch_stop(w);
	registry_free(reg);
	vip_pool_free(vips);
	return bad;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("setrlimit(RLIMIT_NOFILE)");
	}
}

/* Creates path and its missing parents (0755); path itself gets 0700. */
static int
mkdir_p(const char *path)
{
	char buf[4096], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void
log_conf_file(const char *file)
{
	if (file != NULL)
		log_info("configuration file %s", file);
	else
		log_info("no configuration file: defaults and flags");
}

/*
 * --user: everything privileged is open (DNS and API listeners, the
 * forwarder's listeners of the services loaded so far, the netlink and
 * packet sockets of interface mode, the state directory): become the user.
 * What is opened later must work with what the user keeps: the state
 * directory is the user's, new VIP:port listeners under 1024 bind with
 * CAP_NET_BIND_SERVICE, VIPs are added with CAP_NET_ADMIN.
 */
static void
drop_privileges(struct privdrop *pd)
{
	char err[1024];

	if (privdrop_chown_dir(pd, rt.conf->state_dir, err,
	    sizeof(err)) != 0 ||
	    privdrop_apply(pd, rt.netif != NULL || lo_route6 != NULL ||
	    rt.proxy_mode == PROXY_MODE_NFTABLES, err,
	    sizeof(err)) != 0)
		fatalx("%s", err);
	if (access(rt.conf->state_dir, W_OK | X_OK) != 0)
		fatalx("state-dir %s: user %s cannot write to it: %s",
		    rt.conf->state_dir, rt.conf->user, strerror(errno));
	if (rt.conf->manifests != NULL && access(rt.conf->manifests, R_OK) !=
	    0)
		log_warn("manifests %s: user %s cannot read them; changes "
		    "will be refused", rt.conf->manifests, rt.conf->user);
}

/*
 * Loopback mode with an IPv6 VIP range: Linux takes only ::1 as local
 * on lo (unlike 127.0.0.0/8), so the range gets a local route on lo, as
 * "ip -6 route add local RANGE dev lo table local" would, removed at
 * exit. Without it no IPv6 VIP could be reached: refused at start.
 */
static void
route_vip_range6(void)
{
	const char *range = vip_range6(rt.vips);
	struct in6_addr net;
	unsigned plen;
	char err[256];

	if (rt.netif != NULL || range == NULL)
		return;
	if (parse_cidr6(range, &net, &plen) != 0)
		fatalx("vip-range %s: not an IPv6 CIDR", range);
	if ((lo_route6 = netif_open("lo", err, sizeof(err))) == NULL)
		fatalx("vip-range %s: IPv6 VIPs refused: loopback mode routes "
		    "the range to lo: %s", range, err);
	if (netif_route_local6(lo_route6, true, &net, plen) == -1) {
		if (errno == EPERM || errno == EACCES)
			fatalx("vip-range %s: IPv6 VIPs refused: loopback mode "
			    "routes the range to lo, which needs CAP_NET_ADMIN "
			    "(%s); run as root, grant the capability, or use "
			    "--vip-interface", range, strerror(errno));
		fatal("vip-range %s: IPv6 VIPs refused: adding the local "
		    "route on lo", range);
	}
	log_info("vip-range %s: local route on lo", range);
}

/* SIGHUP: a new configuration beside the old, swapped only when valid. */
static void
reload(void)
{
	struct cip_conf *nc;
	const char *file;
	bool check;
	char err[1024];

	log_info("SIGHUP: reloading");
	if ((nc = load_conf(saved_argc, saved_argv, &check, &file, err,
	    sizeof(err))) == NULL) {
		log_warnx("configuration refused, running one kept: %s", err);
	} else if (api_check_conf(nc, err, sizeof(err)) != 0) {
		/* The API takes it at restart, which would then fail. */
		log_warnx("configuration refused, running one kept: %s", err);
		conf_free(nc);
	} else {
		log_conf_file(file);
		if (!streq_null(nc->manifests, rt.conf->manifests) ||
		    !strlist_equal(&nc->vip_range, &rt.conf->vip_range) ||
		    !streq_null(nc->vip_interface, rt.conf->vip_interface))
			log_warnx("manifests, vip-range and vip-interface "
			    "changes take effect at restart");
		if (!streq_null(nc->user, rt.conf->user))
			log_warnx("user changes take effect at restart");
		if (!streq_null(nc->etcd, rt.conf->etcd) ||
		    !streq_null(nc->etcd_prefix, rt.conf->etcd_prefix) ||
		    !streq_null(nc->advertise_address,
		    rt.conf->advertise_address) ||
		    nc->etcd_lease_ttl_ms != rt.conf->etcd_lease_ttl_ms)
			log_warnx("etcd settings take effect at restart");
		if (proxy_mode_parse(nc->proxy_mode) != rt.proxy_mode)
			log_warnx("proxy-mode changes take effect at restart");
		log_setlevel((enum log_level)log_parse_level(nc->log_level));
		registry_set_default_algo(rt.reg,
		    (enum lb_algo)lb_algo_parse(nc->lb_algorithm));
		/* DNS settings that need no new socket; rt.conf is the old. */
		(void)dns_server_reload(nc);
		/*
		 * Modules read the settings they apply per request from
		 * rt.conf; listeners stay as bound.
		 */
		conf_free(rt.conf);
		rt.conf = nc;
	}
	if (rt.watch != NULL) {
		int bad = mwatch_rescan(rt.watch);
		log_info("manifests re-read: %d refused", bad);
	}
	kernel_resync();
}

static void
stop_cb(void *arg)
{
	event_base_loopbreak(rt.base);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	switch (sig) {
	case SIGHUP:
		reload();
		break;
	case SIGTERM:
	case SIGINT:
		log_info("signal %d: shutting down", (int)sig);
		/* With --etcd: the host's lease revoked first. */
		cluster_stop(stop_cb, NULL);
		break;
	}
}

/* vip_saver over the state writer: the JSON is built on its thread. */
static int
vip_saver_statewr(void *arg, const char *path, const struct statewr_job *job,
    int mode)
{
	return statewr_submit_job(arg, path, job, mode);
}

#ifdef __GLIBC__
/* After the loop's first turn: see main. */
static void
startup_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	malloc_trim(0);
}
#endif

int
main(int argc, char **argv)
{
	struct event *ev_hup, *ev_term, *ev_int;
	struct privdrop *pd = NULL;
	char err[1024], state[4096];
	const char *file;
	bool check;
	int bad;

	log_init("clusteripd", LOG_LEVEL_INFO);
#ifdef __GLIBC__
	/*
	 * Fixed malloc thresholds. glibc raises its mmap and trim
	 * thresholds (up to 32 and 64 MiB) once a large block is freed,
	 * and malloc_trim never shrinks a thread's arena below its top
	 * chunk: the state writer's arena kept ~8 MiB after each save of
	 * 100,000 VIPs, and the index tables left holes in the main heap.
	 * With the default 128 KiB fixed, large blocks are mapped on
	 * their own and given back when freed, and arenas shrink.
	 */
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
	saved_argc = argc;
	saved_argv = argv;
	if ((rt.conf = load_conf(argc, argv, &check, &file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "clusteripd: %s%s\n",
		    check ? "configuration refused: " : "", err);
		return 1;
	}
	log_setlevel((enum log_level)log_parse_level(rt.conf->log_level));
	if (check) {
		/* Speaks as a check: the verdict, never start-up lines. */
		if (check_startup(rt.conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "clusteripd: configuration refused: "
			    "%s\n", err);
			conf_free(rt.conf);
			return 1;
		}
		(void)checkcaps_warn(rt.conf, stderr);
		bad = rt.conf->manifests ? check_manifests(rt.conf) : 0;
		if (bad) {
			fprintf(stderr, "clusteripd: configuration refused: "
			    "%d manifest file%s refused\n", bad,
			    bad == 1 ? "" : "s");
			conf_free(rt.conf);
			return 1;
		}
		conf_print(rt.conf, stdout);
		fprintf(stderr, "clusteripd: configuration OK (%s%s)\n",
		    file ? "file " : "no file: defaults and flags",
		    file ? file : "");
		conf_free(rt.conf);
		return 0;
	}
	log_conf_file(file);
	log_info("state directory %s", rt.conf->state_dir);
	/* Refused before anything is bound: not root, no such user. */
	if (rt.conf->user != NULL && (pd = privdrop_new(rt.conf->user,
	    rt.conf->docker, err, sizeof(err))) == NULL)
		fatalx("%s", err);

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	rt.started = time(NULL);
	if (mkdir_p(rt.conf->state_dir) != 0)
		fatal("state-dir %s", rt.conf->state_dir);
	snprintf(state, sizeof(state), "%s/" VIP_STATE_FILE,
	    rt.conf->state_dir);
	if ((rt.vips = vip_pool_new_ranges(
	    (const char *const *)rt.conf->vip_range.v, rt.conf->vip_range.n,
	    state, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((rt.reg = registry_new(rt.vips)) == NULL)
		fatalx("out of memory");
	registry_set_default_algo(rt.reg,
	    (enum lb_algo)lb_algo_parse(rt.conf->lb_algorithm));
	if ((rt.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/* State files are written off the loop from now on. */
	if ((rt.sw = statewr_new(rt.base)) == NULL)
		fatalx("cannot start the state writer");
	vip_set_saver(rt.vips, vip_saver_statewr, rt.sw);
	if (rt.conf->vip_interface != NULL &&
	    (rt.netif = netif_open(rt.conf->vip_interface, err,
	    sizeof(err))) == NULL)
		fatalx("vip-interface: %s", err);
	if (rt.netif != NULL && netif_attach(rt.netif, rt.base) != 0)
		fatal("vip-interface: netlink event");

	rt.proxy_mode = proxy_mode_parse(rt.conf->proxy_mode);
	/* Before the forwarder, which asks which services it leaves. */
	if (kernel_init(&rt) != 0)
		fatalx("proxy-mode nftables: the kernel path cannot start");
	if (proxy_init(&rt) != 0 || health_init(&rt) != 0 ||
	    dns_server_init(&rt) != 0 || api_init(&rt) != 0 ||
	    docker_init(&rt) != 0)
		fatalx("startup failed");
	if (rt.conf->manifests != NULL &&
	    (rt.watch = mwatch_start(rt.base, rt.reg, rt.conf->manifests, err,
	    sizeof(err))) == NULL)
		fatalx("manifests: %s", err);
	/* After the local sources: they are published as they stand. */
	if (cluster_init(&rt) != 0)
		fatalx("etcd: startup failed");
#ifdef __GLIBC__
	/*
	 * The initial load parsed every manifest document and built the
	 * objects in between, and the modules that coalesce registry events
	 * free their records of it in the loop's first turn (the kernel
	 * path's keys of every changed service, 6 MiB with 100,000): give
	 * the pages glibc keeps free back after that turn. It used to
	 * happen after the first save of the VIPs, which a restart that
	 * changes none no longer writes.
	 */
	{
		const struct timeval now = { 0, 0 };

		if (event_base_once(rt.base, -1, EV_TIMEOUT, startup_trim_cb,
		    NULL, &now) != 0)
			malloc_trim(0);
	}
#endif
	/* Last of what may fail at start: nothing else to undo then. */
	route_vip_range6();
	if (pd != NULL) {
		drop_privileges(pd);
		privdrop_free(pd);
	}

	ev_hup = evsignal_new(rt.base, SIGHUP, signal_cb, NULL);
	ev_term = evsignal_new(rt.base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(rt.base, SIGINT, signal_cb, NULL);
	if (!ev_hup || !ev_term || !ev_int || evsignal_add(ev_hup, NULL) ||
	    evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL))
		fatalx("signal events");
	rt.ready = true;
	log_info("clusteripd %s: startup complete: %zu services, %zu pods, "
	    "vip-range %s%s%s%s%s", PACKAGE_VERSION,
	    registry_count_services(rt.reg), registry_count_pods(rt.reg),
	    rt.conf->vip_range.v[0], rt.conf->vip_range.n > 1 ? " " : "",
	    rt.conf->vip_range.n > 1 ? rt.conf->vip_range.v[1] : "",
	    rt.netif ? " on " : "",
	    rt.netif ? netif_name(rt.netif) : "");

	event_base_dispatch(rt.base);

	rt.ready = false;
	/* Everything written and every answer waiting for it given. */
	if (vip_save(rt.vips) != 0)
		log_warnx("VIP state not saved");
	vip_set_saver(rt.vips, NULL, NULL);
	statewr_free(rt.sw);
	rt.sw = NULL;
	cluster_shutdown();
	docker_shutdown();
	api_shutdown();
	dns_server_shutdown();
	health_shutdown();
	proxy_shutdown();
	kernel_shutdown();
	mwatch_stop(rt.watch);
	netif_close(rt.netif);
	netif_close(lo_route6);
	lo_route6 = NULL;
	if (vip_save(rt.vips) != 0)
		log_warnx("VIP state not saved");
	registry_free(rt.reg);
	vip_pool_free(rt.vips);
	metrics_shutdown();
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(rt.base);
	conf_free(rt.conf);
	log_info("clusteripd: stopped");
	return 0;
}
