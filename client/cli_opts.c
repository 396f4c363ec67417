/* SPDX-License-Identifier: MIT */
/* cli_opts.c -- the clusterip command line's flags. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_flagdef {
	enum cli_flag	 id;
	const char	*name;		/* long form without "--" */
	char		 letter;	/* short form, or 0 */
	bool		 arg;		/* takes a value */
} cli_flagdefs[] = {
	{ CLI_F_SERVER, "server", 's', true },
	{ CLI_F_TOKEN_FILE, "token-file", 0, true },
	{ CLI_F_NAMESPACE, "namespace", 'n', true },
	{ CLI_F_ALL_NS, "all-namespaces", 'A', false },
	{ CLI_F_OUTPUT, "output", 'o', true },
	{ CLI_F_SHOW_LABELS, "show-labels", 0, false },
	{ CLI_F_SELECTOR, "selector", 'l', true },
	{ CLI_F_FILE, "filename", 'f', true },
	{ CLI_F_LABEL, "label", 0, true },
	{ CLI_F_IP, "ip", 0, true },
	{ CLI_F_PORT, "port", 'p', true },
	{ CLI_F_TTL, "ttl", 0, true },
	{ CLI_F_KEEPALIVE, "keepalive", 0, false },
	{ CLI_F_SRV, "srv", 0, true },
	{ CLI_F_DNS, "dns", 0, true },
	{ CLI_F_NO_HEADERS, "no-headers", 0, false },
	{ CLI_F_HELP, "help", 'h', false },
};

#define CLI_NFLAGDEFS	(sizeof(cli_flagdefs) / sizeof(cli_flagdefs[0]))

static const struct cli_flagdef *cli_flag_lookup(const char *,
    const char **);
static void	cli_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int	cli_store(const struct cli_flagdef *, const char *,
    struct cli_opts *, char *, size_t);

static void
cli_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
cli_store(const struct cli_flagdef *d, const char *val, struct cli_opts *o,
    char *err, size_t errlen)
{
	switch (d->id) {
	case CLI_F_SERVER: o->server = val; break;
	case CLI_F_TOKEN_FILE: o->token_file = val; break;
	case CLI_F_NAMESPACE:
		if (*val == '\0') {
			cli_err(err, errlen, "--namespace: empty");
			return -1;
		}
		o->ns = val;
		break;
	case CLI_F_ALL_NS: o->all_ns = true; break;
	case CLI_F_OUTPUT:
		if (strcmp(val, "wide") != 0 && strcmp(val, "json") != 0 &&
		    strcmp(val, "yaml") != 0) {
			cli_err(err, errlen, "--output: \"%s\" is not wide, "
			    "json or yaml", val);
			return -1;
		}
		o->output = val;
		break;
	case CLI_F_SHOW_LABELS: o->show_labels = true; break;
	case CLI_F_SELECTOR: o->selector = val; break;
	case CLI_F_FILE: o->file = val; break;
	case CLI_F_LABEL:
		if (o->nlabels == CLI_MAX_MULTI) {
			cli_err(err, errlen, "--label: more than %d",
			    CLI_MAX_MULTI);
			return -1;
		}
		if (strchr(val, '=') == NULL || *val == '=') {
			cli_err(err, errlen, "--label: \"%s\" is not KEY=VALUE",
			    val);
			return -1;
		}
		o->labels[o->nlabels++] = val;
		break;
	case CLI_F_IP: o->ip = val; break;
	case CLI_F_PORT:
		if (o->nports == CLI_MAX_MULTI) {
			cli_err(err, errlen, "--port: more than %d",
			    CLI_MAX_MULTI);
			return -1;
		}
		o->ports[o->nports++] = val;
		break;
	case CLI_F_TTL: o->ttl = val; break;
	case CLI_F_KEEPALIVE: o->keepalive = true; break;
	case CLI_F_SRV: o->srv = val; break;
	case CLI_F_DNS: o->dns = val; break;
	case CLI_F_NO_HEADERS: o->no_headers = true; break;
	case CLI_F_HELP: o->help = true; break;
	case CLI_F_COUNT: break;
	}
	return 0;
}

/*
 * The flag a ("--name", "--name=value", "-x" or "-xvalue"), its value
 * in *val when a carries one, or NULL when no flag has that name.
 */
static const struct cli_flagdef *
cli_flag_lookup(const char *a, const char **val)
{
	const struct cli_flagdef *d = NULL;
	const char *eq;
	size_t i, namelen;

	*val = NULL;
	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		namelen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		for (i = 0; i < CLI_NFLAGDEFS; i++)
			if (strlen(cli_flagdefs[i].name) == namelen &&
			    strncmp(cli_flagdefs[i].name, a + 2, namelen) == 0)
				d = &cli_flagdefs[i];
		if (eq != NULL)
			*val = eq + 1;
		return d;
	}
	for (i = 0; i < CLI_NFLAGDEFS; i++)
		if (cli_flagdefs[i].letter == a[1])
			d = &cli_flagdefs[i];
	/* "-nkube-system" and "-owide" */
	if (d != NULL && a[2] != '\0')
		*val = a + 2;
	return d;
}

int
cli_parse(int argc, char **argv, unsigned mask, struct cli_opts *o,
    char *err, size_t errlen)
{
	const struct cli_flagdef *d;
	const char *a, *val;
	int k;
	bool dashdash = false;

	for (k = 0; k < argc; k++) {
		a = argv[k];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (o->npos == CLI_MAX_POS) {
				cli_err(err, errlen, "too many arguments "
				    "(\"%s\")", a);
				return -1;
			}
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			continue;
		}
		d = cli_flag_lookup(a, &val);
		/* "-Ax": a short flag without value cannot take one. */
		if (d != NULL && a[1] != '-' && val != NULL && !d->arg) {
			cli_err(err, errlen, "unknown flag: %s", a);
			return -1;
		}
		if (d == NULL || (mask & CLI_FLAG(d->id)) == 0) {
			cli_err(err, errlen, "unknown flag: %s", a);
			return -1;
		}
		if (d->arg && val == NULL) {
			if (k + 1 >= argc) {
				cli_err(err, errlen, "flag needs an argument: "
				    "%s", a);
				return -1;
			}
			val = argv[++k];
		} else if (!d->arg && val != NULL) {
			cli_err(err, errlen, "flag takes no argument: %s", a);
			return -1;
		}
		if (cli_store(d, val, o, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
cli_command_index(int argc, char **argv)
{
	const struct cli_flagdef *d;
	const char *a, *val;
	int k;

	for (k = 1; k < argc; k++) {
		a = argv[k];
		if (strcmp(a, "--") == 0)
			return k + 1 < argc ? k + 1 : -1;
		if (a[0] != '-' || a[1] == '\0')
			return k;
		/* A flag whose value is the next argument skips it too. */
		if ((d = cli_flag_lookup(a, &val)) != NULL && d->arg &&
		    val == NULL)
			k++;
	}
	return -1;
}
