/* SPDX-License-Identifier: MIT */
/*
 * cli.h -- the clusterip command line: argument parsing (cli_opts.c) and
 * kubectl-like output (cli_format.c). No network here: pure functions
 * over JSON documents, so that tests need no server.
 */
#ifndef CIP_CLI_H
#define CIP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* Flags; each command accepts a subset (a mask of CLI_F_*). */
enum cli_flag {
	CLI_F_SERVER,		/* --server URL */
	CLI_F_TOKEN_FILE,	/* --token-file FILE */
	CLI_F_NAMESPACE,	/* -n, --namespace NS */
	CLI_F_ALL_NS,		/* -A, --all-namespaces */
	CLI_F_OUTPUT,		/* -o, --output wide|json|yaml */
	CLI_F_SHOW_LABELS,	/* --show-labels */
	CLI_F_SELECTOR,		/* -l, --selector SELECTOR */
	CLI_F_FILE,		/* -f, --filename FILE|- */
	CLI_F_LABEL,		/* --label k=v (repeatable) */
	CLI_F_IP,		/* --ip A.B.C.D */
	CLI_F_PORT,		/* --port [name=]P[/PROTO] (repeatable) */
	CLI_F_TTL,		/* --ttl DURATION */
	CLI_F_KEEPALIVE,	/* --keepalive */
	CLI_F_SRV,		/* --srv PORTNAME */
	CLI_F_DNS,		/* --dns ADDR[:PORT] */
	CLI_F_NO_HEADERS,	/* --no-headers */
	CLI_F_HELP,		/* -h, --help */
	CLI_F_COUNT
};
#define CLI_FLAG(f)	(1u << (f))
#define CLI_MAX_POS	4
#define CLI_MAX_MULTI	32

struct cli_opts {
	const char	*server;
	const char	*token_file;
	const char	*ns;		/* NULL: "default" */
	bool		 all_ns;
	const char	*output;	/* NULL, "wide", "json", "yaml" */
	bool		 show_labels;
	const char	*selector;
	const char	*file;
	const char	*labels[CLI_MAX_MULTI];
	size_t		 nlabels;
	const char	*ip;
	const char	*ports[CLI_MAX_MULTI];
	size_t		 nports;
	const char	*ttl;
	bool		 keepalive;
	const char	*srv;
	const char	*dns;
	bool		 no_headers;
	bool		 help;
	const char	*pos[CLI_MAX_POS];	/* positional arguments */
	size_t		 npos;
};

/*
 * Parses argv[0..argc) (the arguments after the command name) into o,
 * accepting only the flags in mask. Flags and positional arguments may
 * be mixed; "--" ends flags; "--flag=value" and "-n value" both work.
 * Returns 0, or -1 with a reason in err.
 */
int	cli_parse(int argc, char **argv, unsigned mask, struct cli_opts *o,
    char *err, size_t errlen);

/*
 * The index in argv[1..argc) of the command word, flags before it allowed
 * as kubectl allows them ("clusterip -n prod get pods"), or -1 if none.
 */
int	cli_command_index(int argc, char **argv);

/* kubectl's AGE: "5s", "3m20s", "2d4h", "<invalid>"... into buf. */
const char *cli_age(time_t now, time_t then, char *buf, size_t len);
/* Parses "2026-01-02T03:04:05Z". Returns 0 on failure. */
time_t	cli_parse_time(const char *);

/* A table printed with columns aligned like kubectl's (padding 3). */
struct cli_table {
	size_t	  ncols;
	size_t	  nrows;	/* including the header */
	char	**cells;	/* nrows * ncols, owned */
	size_t	  cap;
};
/* Starts a table with its header row. Returns 0 or -1. */
int	cli_table_init(struct cli_table *, size_t ncols,
    const char *const *header);
/* Appends a row of ncols cells (copied). Returns 0 or -1. */
int	cli_table_add(struct cli_table *, const char *const *cells);
/* Prints the table; without its header row when headers is false. */
void	cli_table_print(const struct cli_table *, bool headers, FILE *);
void	cli_table_free(struct cli_table *);

/* What "get" shows; flags from the command line. */
struct cli_view {
	bool	wide;
	bool	all_ns;
	bool	show_labels;
	bool	no_headers;
	/* Put before each NAME ("service/") when several kinds are shown. */
	const char *prefix;
	time_t	now;
};

/*
 * Print a list ("items" of a ServiceList, PodList or EndpointsList) as
 * kubectl's table. Returns the number of rows printed.
 */
size_t	cli_print_services(json_t *items, const struct cli_view *, FILE *);
size_t	cli_print_pods(json_t *items, const struct cli_view *, FILE *);
size_t	cli_print_endpoints(json_t *items, const struct cli_view *, FILE *);
/*
 * kubectl's formatEndpoints: "ip:port,..." of ready addresses whose port
 * name is port_name (NULL: every port), at most 3 then " + N more...",
 * "<none>" when empty. Calls malloc; caller frees.
 */
char	*cli_format_endpoints(json_t *endpoints, const char *port_name);
/* `kubectl describe svc` of a Service and its Endpoints document. */
void	cli_describe_service(json_t *svc, json_t *endpoints, FILE *);
/*
 * `kubectl describe pod` of a Pod: name, namespace, start time, labels,
 * annotations, status, IPs, owner (the manifest file, the API, Docker),
 * each container's ports and readiness, conditions.
 */
void	cli_describe_pod(json_t *pod, FILE *);
/*
 * An ApplyResult as kubectl apply prints it, in file order: one line
 * per object on out ("service/backend created", "deployment.apps/web
 * skipped (why)") and each warning on errfp ("Warning: f:3:5: unknown
 * field ..."). Returns the number of lines printed on out.
 */
size_t	cli_print_apply(json_t *result, FILE *out, FILE *errfp);
/* A JSON document as YAML (kubectl -o yaml). Returns 0 or -1. */
int	cli_print_yaml(json_t *, FILE *);

/* cli_api.c: paths, kinds and messages of the API. */
#define CLI_MAX_KINDS	3

/* "svc", "service", "po", "ep"... as the API's "services", or NULL. */
const char *cli_resource(const char *arg);
/* "services" -> "service", as kubectl names one object ("service/x"). */
const char *cli_kind_name(const char *res);
/*
 * A comma list of kinds ("svc,pods", "all" = pods, services, endpoints)
 * into kinds[0..*np) (the API's names, in order, each once). Returns 0,
 * or -1 with a reason in err.
 */
int	cli_parse_kinds(const char *arg, const char **kinds, size_t *np,
    char *err, size_t errlen);
/* Appends res to kinds[0..n) unless there. Returns the new count. */
size_t	cli_kinds_add(const char **kinds, size_t n, const char *res);
/*
 * "/v1/RES[/NS[/NAME]]SUFFIX" into buf, NS and NAME percent-escaped (ns,
 * name and suffix may be NULL). Returns 0, or -1 when buf is too small.
 */
int	cli_api_path(char *buf, size_t len, const char *res, const char *ns,
    const char *name, const char *suffix);
/* s percent-escaped for a query. Calls malloc; caller frees. */
char	*cli_query_escape(const char *s);
/*
 * The one-line message for a reply of status (not 2xx) with body: the
 * daemon's {"error": "..."} and the status, or the status alone.
 */
void	cli_api_error(int status, const char *body, size_t len, char *buf,
    size_t buflen);
/*
 * The message for a request that got no reply: err as libclusterip gave
 * it, and when errnum is ECONNREFUSED a hint naming the server in use.
 */
void	cli_conn_error(const char *err, int errnum, const char *server,
    char *buf, size_t len);
/*
 * The address to query for the daemon's DNS, from its GET /version
 * document: the first of "dnsListen", a wildcard (0.0.0.0, [::]) made
 * the server's IPv4 address (server is the --server URL) or loopback.
 * Returns 0, or -1 when the document names none.
 */
int	cli_dns_address(json_t *version, const char *server, char *buf,
    size_t len);

#endif
