/* SPDX-License-Identifier: MIT */
/*
 * cli_api.c -- what the clusterip command makes of the API: request
 * paths with their escaping, the kinds named on the command line, one-line
 * messages for failed requests and the daemon's DNS address. Pure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

const char *
cli_resource(const char *arg)
{
	if (arg == NULL)
		return NULL;
	if (strcmp(arg, "svc") == 0 || strcmp(arg, "service") == 0 ||
	    strcmp(arg, "services") == 0)
		return "services";
	if (strcmp(arg, "po") == 0 || strcmp(arg, "pod") == 0 ||
	    strcmp(arg, "pods") == 0)
		return "pods";
	if (strcmp(arg, "ep") == 0 || strcmp(arg, "endpoints") == 0)
		return "endpoints";
	return NULL;
}

const char *
cli_kind_name(const char *res)
{
	if (strcmp(res, "services") == 0)
		return "service";
	if (strcmp(res, "pods") == 0)
		return "pod";
	return "endpoints";
}

int
cli_parse_kinds(const char *arg, const char **kinds, size_t *np, char *err,
    size_t errlen)
{
	static const char *const all[] = { "pods", "services", "endpoints" };
	const char *p, *comma, *res;
	char word[32];
	size_t i, n = 0, len;

	*np = 0;
	if (arg == NULL || *arg == '\0') {
		snprintf(err, errlen, "no resource type given");
		return -1;
	}
	for (p = arg;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(word)) {
			snprintf(err, errlen, "bad resource list \"%s\"", arg);
			return -1;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if (strcmp(word, "all") == 0) {
			for (i = 0; i < CLI_MAX_KINDS; i++)
				n = cli_kinds_add(kinds, n, all[i]);
		} else if ((res = cli_resource(word)) != NULL)
			n = cli_kinds_add(kinds, n, res);
		else {
			snprintf(err, errlen, "unknown resource type \"%s\" "
			    "(svc, pods, endpoints or all)", word);
			return -1;
		}
		if (comma == NULL)
			break;
	}
	*np = n;
	return 0;
}

size_t
cli_kinds_add(const char **kinds, size_t n, const char *res)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kinds[i], res) == 0)
			return n;
	if (n < CLI_MAX_KINDS)
		kinds[n++] = res;
	return n;
}

int
cli_api_path(char *buf, size_t len, const char *res, const char *ns,
    const char *name, const char *suffix)
{
	char *ens = NULL, *ename = NULL;
	int n = -1;

	if ((ns != NULL && (ens = curl_easy_escape(NULL, ns, 0)) == NULL) ||
	    (name != NULL && (ename = curl_easy_escape(NULL, name, 0)) ==
	    NULL))
		goto out;
	n = snprintf(buf, len, "/v1/%s%s%s%s%s%s", res, ens ? "/" : "",
	    ens ? ens : "", ename ? "/" : "", ename ? ename : "",
	    suffix ? suffix : "");
out:
	curl_free(ens);
	curl_free(ename);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

char *
cli_query_escape(const char *s)
{
	char *e, *out;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		return NULL;
	out = strdup(e);
	curl_free(e);
	return out;
}

void
cli_api_error(int status, const char *body, size_t len, char *buf,
    size_t buflen)
{
	json_t *doc = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(doc, "error"));

	if (msg != NULL)
		snprintf(buf, buflen, "%s (HTTP %d)", msg, status);
	else if (status == 413)
		snprintf(buf, buflen, "the request is larger than the server "
		    "accepts (HTTP 413)");
	else
		snprintf(buf, buflen, "the server answered HTTP %d", status);
	json_decref(doc);
}

void
cli_conn_error(const char *err, int errnum, const char *server, char *buf,
    size_t len)
{
	if (errnum == ECONNREFUSED)
		snprintf(buf, len, "%s; is clusteripd running? set "
		    "CLUSTERIP_SERVER or --server (now %s)", err, server);
	else
		snprintf(buf, len, "%s", err);
}

int
cli_dns_address(json_t *version, const char *server, char *buf, size_t len)
{
	struct in_addr a4;
	const char *addr, *port, *host;
	char shost[64];
	size_t hl;
	int n;

	addr = json_string_value(json_array_get(json_object_get(version,
	    "dnsListen"), 0));
	if (addr == NULL || *addr == '\0')
		return -1;
	/* The host of an http:// server, when it is an IPv4 address. */
	shost[0] = '\0';
	if (server != NULL && strncasecmp(server, "http://", 7) == 0) {
		host = server + 7;
		hl = strcspn(host, ":/");
		if (hl < sizeof(shost)) {
			memcpy(shost, host, hl);
			shost[hl] = '\0';
			if (inet_pton(AF_INET, shost, &a4) != 1 ||
			    strcmp(shost, "0.0.0.0") == 0)
				shost[0] = '\0';
		}
	}
	/* A wildcard listens on every address: the server's, or loopback. */
	if (strncmp(addr, "0.0.0.0", 7) == 0 &&
	    (addr[7] == '\0' || addr[7] == ':')) {
		port = addr + 7;
		n = snprintf(buf, len, "%s%s", *shost ? shost : "127.0.0.1",
		    port);
	} else if (strncmp(addr, "[::]", 4) == 0)
		n = snprintf(buf, len, "[::1]%s", addr + 4);
	else if (strcmp(addr, "::") == 0)
		n = snprintf(buf, len, "[::1]:53");
	else if (addr[0] != '[' && strchr(addr, ':') != strrchr(addr, ':'))
		n = snprintf(buf, len, "[%s]:53", addr);	/* bare IPv6 */
	else
		n = snprintf(buf, len, "%s", addr);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
