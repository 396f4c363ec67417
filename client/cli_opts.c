/* SPDX-License-Identifier: MIT */
/* cli_opts.c -- the clusterip command line's flags. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* getopt_long's tables, built once from cli_flagdefs. */
static struct option cli_longopts[CLI_NFLAGDEFS + 1];
static char cli_shortopts[3 + 2 * CLI_NFLAGDEFS + 1];

static void
cli_opts_init(void)
{
	const struct cli_flagdef *d;
	size_t i, n;

	if (cli_shortopts[0] != '\0')
		return;
	/* '-': positionals in order, as code 1; ':': tell a missing value. */
	n = 0;
	cli_shortopts[n++] = '-';
	cli_shortopts[n++] = ':';
	for (i = 0; i < CLI_NFLAGDEFS; i++) {
		d = &cli_flagdefs[i];
		cli_longopts[i].name = d->name;
		cli_longopts[i].has_arg = d->arg ? required_argument :
		    no_argument;
		cli_longopts[i].val = d->letter ? d->letter : 256 + (int)i;
		if (d->letter) {
			cli_shortopts[n++] = d->letter;
			if (d->arg)
				cli_shortopts[n++] = ':';
		}
	}
	cli_shortopts[n] = '\0';
}

/* The flag getopt_long returned as code, or NULL. */
static const struct cli_flagdef *
cli_flag_by_code(int code)
{
	size_t i;

	if (code >= 256 && code < 256 + (int)CLI_NFLAGDEFS)
		return &cli_flagdefs[code - 256];
	for (i = 0; i < CLI_NFLAGDEFS; i++)
		if (code != 0 && cli_flagdefs[i].letter == code)
			return &cli_flagdefs[i];
	return NULL;
}

/*
 * True when the token a, "--name" or "--name=value", spells d's whole
 * name: getopt_long also takes unique prefixes, the command line not.
 */
static bool
cli_flag_whole(const char *a, const struct cli_flagdef *d)
{
	size_t n = strcspn(a + 2, "=");

	return a[0] != '-' || a[1] != '-' ||
	    (n == strlen(d->name) && strncmp(a + 2, d->name, n) == 0);
}

/*
 * Runs getopt_long over args[0..argc) (args[-1] stands for the program
 * name, as getopt_long wants): a copy with a program name in front.
 */
static char **
cli_argv(int argc, char **args)
{
	char **av;

	if ((av = calloc((size_t)argc + 2, sizeof(*av))) == NULL)
		return NULL;
	av[0] = (char *)(uintptr_t)"clusterip";
	memcpy(av + 1, args, (size_t)argc * sizeof(*av));
	return av;
}

int
cli_parse(int argc, char **args, unsigned mask, struct cli_opts *o,
    char *err, size_t errlen)
{
	const struct cli_flagdef *d;
	const char *a;
	char **av;
	int ac = argc + 1, c, at, li, rc = -1;

	cli_opts_init();
	if ((av = cli_argv(argc, args)) == NULL) {
		cli_err(err, errlen, "out of memory");
		return -1;
	}
	opterr = 0;
	optind = 0;
	for (;;) {
		at = optind == 0 ? 1 : optind;	/* the token getopt reads */
		li = -1;
		if ((c = getopt_long(ac, av, cli_shortopts, cli_longopts,
		    &li)) == -1)
			break;
		a = av[at];
		if (c == 1) {
			if (o->npos == CLI_MAX_POS) {
				cli_err(err, errlen, "too many arguments "
				    "(\"%s\")", optarg);
				goto done;
			}
			o->pos[o->npos++] = optarg;
			continue;
		}
		if (c == ':') {
			cli_err(err, errlen, "flag needs an argument: %s", a);
			goto done;
		}
		d = c == '?' ? cli_flag_by_code(optopt) : cli_flag_by_code(c);
		if (c == '?' && d != NULL && !d->arg && a[1] == '-' &&
		    strchr(a, '=') != NULL && cli_flag_whole(a, d)) {
			cli_err(err, errlen, "flag takes no argument: %s", a);
			goto done;
		}
		if (c == '?' || d == NULL || !cli_flag_whole(a, d) ||
		    (mask & CLI_FLAG(d->id)) == 0) {
			if (c == '?' && a[1] != '-' && optopt != 0)
				cli_err(err, errlen, "unknown flag: -%c",
				    optopt);
			else
				cli_err(err, errlen, "unknown flag: %s", a);
			goto done;
		}
		if (cli_store(d, d->arg ? optarg : NULL, o, err, errlen) != 0)
			goto done;
	}
	/* After "--": positionals, all of them. */
	for (; optind < ac; optind++) {
		if (o->npos == CLI_MAX_POS) {
			cli_err(err, errlen, "too many arguments (\"%s\")",
			    av[optind]);
			goto done;
		}
		o->pos[o->npos++] = av[optind];
	}
	rc = 0;
done:
	free(av);
	return rc;
}

int
cli_command_index(int argc, char **argv)
{
	int c;

	cli_opts_init();
	/* '+' for '-': stop at the first word that is no flag's. */
	cli_shortopts[0] = '+';
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, cli_shortopts, cli_longopts,
	    NULL)) != -1)
		;
	cli_shortopts[0] = '-';
	return optind < argc ? optind : -1;
}
