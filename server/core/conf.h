/* SPDX-License-Identifier: MIT */
/*
 * conf.h -- clusteripd.yaml -> struct cip_conf. One table row per option
 * drives parsing, defaults, flags and --check-config printing. No libevent.
 */
#ifndef CIP_CONF_H
#define CIP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct strlist {
	char	**v;
	size_t	  n;
};

struct cip_conf {
	/* general */
	char		*log_level;		/* error|warn|info|debug */
	char		*state_dir;
	char		*manifests;		/* file or directory, or NULL */
	char		*user;			/* drop to it, or NULL */
	/* DNS */
	struct strlist	 dns_listen;		/* ADDR:PORT */
	char		*cluster_domain;
	char		*dns_short_names;	/* all|single-label|off */
	uint64_t	 dns_ttl_s;
	uint64_t	 dns_negative_ttl_s;
	uint64_t	 edns_payload;
	uint64_t	 dns_tcp_max_clients;
	uint64_t	 dns_tcp_idle_timeout_ms;
	struct strlist	 upstream;		/* empty: /etc/resolv.conf */
	uint64_t	 upstream_timeout_ms;
	uint64_t	 upstream_max_inflight;
	uint64_t	 dns_cache_size;	/* entries; 0 disables */
	struct strlist	 dns_allow;		/* CIDR or "vip-range" */
	/* VIPs and the forwarder */
	struct strlist	 vip_range;		/* one per family, primary first */
	char		*vip_interface;		/* NULL: loopback mode */
	char		*lb_algorithm;		/* default for services */
	char		*proxy_mode;		/* userspace|nftables */
	uint64_t	 proxy_connect_timeout_ms;
	uint64_t	 proxy_connect_retries;
	uint64_t	 proxy_idle_timeout_ms;	/* 0: none */
	uint64_t	 proxy_drain_timeout_ms;	/* 0: none */
	uint64_t	 proxy_max_sessions;
	uint64_t	 udp_idle_timeout_ms;
	/* control API */
	char		*api_listen;		/* "" or "none": off */
	char		*api_socket;		/* unix socket path or NULL */
	char		*api_token_file;
	bool		 api_insecure;
	bool		 kernel_ct_events;
	uint64_t	 api_max_body;
	uint64_t	 api_timeout_ms;
	/* providers */
	char		*docker;		/* socket path, or NULL: off */
	char		*docker_network;	/* NULL: any network */
	char		*etcd;			/* URL[,URL...], or NULL: off */
	char		*etcd_prefix;
	char		*etcd_cacert;
	char		*etcd_cert;
	char		*etcd_key;
	char		*etcd_user;
	char		*etcd_password_file;
	uint64_t	 etcd_lease_ttl_ms;
	char		*advertise_address;	/* NULL: the host name */
};

/*
 * The state directory used when none is set: LOCALSTATEDIR/lib/clusterip
 * for root, $XDG_STATE_HOME/clusterip or $HOME/.local/state/clusterip for
 * any other user; the user of the first call decides (a daemon that
 * dropped root keeps root's). Points to static storage, valid until the
 * next call.
 */
const char *conf_default_state_dir(void);

/* Returns a configuration holding every default, or NULL on OOM. */
struct cip_conf *conf_new_defaults(void);
void	conf_free(struct cip_conf *);

/*
 * Overlays the YAML mapping in buf onto conf. name is used in messages:
 * "name:line:column: reason". Unknown keys and bad values are errors.
 * On error conf may be partly changed: parse into a fresh copy.
 * Returns 0 or -1.
 */
int	conf_parse_buf(struct cip_conf *conf, const char *buf, size_t len,
    const char *name, char *err, size_t errlen);
/* The same for a file. */
int	conf_parse_file(struct cip_conf *conf, const char *path, char *err,
    size_t errlen);
/*
 * Sets one option by its name ("dns-listen") from text, as a flag does;
 * list options append (the first flag clears the file's list when
 * first_of_list). Returns 0 or -1 with a reason.
 */
int	conf_set(struct cip_conf *conf, const char *name, const char *text,
    bool first_of_list, char *err, size_t errlen);
/*
 * The vip-range of family af (AF_INET or AF_INET6), or NULL when none
 * is configured.
 */
const char *conf_vip_range(const struct cip_conf *conf, int af);
/* True when both lists hold the same strings in the same order. */
bool	strlist_equal(const struct strlist *, const struct strlist *);
/* Checks cross-option rules (addresses parse, CIDR valid, ...). */
int	conf_validate(const struct cip_conf *conf, char *err, size_t errlen);
/* Prints the effective configuration as YAML that conf_parse_buf reads back. */
void	conf_print(const struct cip_conf *conf, FILE *fp);

/* Describes an option for the flag parser and --help. */
struct conf_option_info {
	const char	*name;
	const char	*help;
	const char	*flag_default;	/* value of a bare --flag, or NULL */
	bool		 is_list;
	bool		 is_bool;
};
/* Number of options and the i-th one. */
size_t	conf_option_count(void);
const struct conf_option_info *conf_option(size_t i);

#endif
