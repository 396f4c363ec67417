/* SPDX-License-Identifier: MIT */
/* cli_format.c -- kubectl-like tables, ages, describe and YAML output. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <yaml.h>

#include "cli.h"

/* kubectl's tabwriter: minwidth 6, padding 3. */
#define CLI_TABLE_PAD		3
#define CLI_TABLE_MINWIDTH	6
/* kubectl describe's tabwriter: padding 2; widest label 17. */
#define CLI_DESCRIBE_COL	19
#define CLI_ENDPOINTS_MAX	3

static const char *cli_str(json_t *, const char *);
static char	*cli_join_labels(json_t *);

const char *
cli_age(time_t now, time_t then, char *buf, size_t len)
{
	long long s = (long long)now - (long long)then;
	long long m, h, d, y;

	if (then == 0 || s < -1) {
		snprintf(buf, len, "<invalid>");
		return buf;
	}
	if (s < 0)
		s = 0;
	m = s / 60;
	h = s / 3600;
	d = h / 24;
	y = d / 365;
	if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (m < 10 && s % 60 != 0)
		snprintf(buf, len, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(buf, len, "%lldm", m);
	else if (h < 8 && m % 60 != 0)
		snprintf(buf, len, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(buf, len, "%lldh", h);
	else if (h < 24 * 8 && h % 24 != 0)
		snprintf(buf, len, "%lldd%lldh", d, h % 24);
	else if (h < 24 * 365 * 2)
		snprintf(buf, len, "%lldd", d);
	else if (h < 24 * 365 * 8 && d % 365 != 0)
		snprintf(buf, len, "%lldy%lldd", y, d % 365);
	else
		snprintf(buf, len, "%lldy", y);
	return buf;
}

time_t
cli_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

int
cli_table_init(struct cli_table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	return cli_table_add(t, header);
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	char **v;
	size_t i, cap;

	if ((t->nrows + 1) * t->ncols > t->cap) {
		cap = t->cap ? t->cap * 2 : t->ncols * 16;
		if ((v = realloc(t->cells, cap * sizeof(*v))) == NULL)
			return -1;
		t->cells = v;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		if ((t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ?
		    cells[i] : "")) == NULL) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return -1;
		}
	t->nrows++;
	return 0;
}

void
cli_table_print(const struct cli_table *t, bool headers, FILE *fp)
{
	size_t r, c, w, *width, first = headers ? 0 : 1;

	if ((width = calloc(t->ncols ? t->ncols : 1, sizeof(*width))) == NULL)
		return;
	for (c = 0; c + 1 < t->ncols; c++) {
		width[c] = CLI_TABLE_MINWIDTH;
		for (r = first; r < t->nrows; r++) {
			w = strlen(t->cells[r * t->ncols + c]) + CLI_TABLE_PAD;
			if (w > width[c])
				width[c] = w;
		}
	}
	for (r = first; r < t->nrows; r++) {
		for (c = 0; c + 1 < t->ncols; c++)
			fprintf(fp, "%-*s", (int)width[c],
			    t->cells[r * t->ncols + c]);
		fprintf(fp, "%s\n", t->cells[r * t->ncols + t->ncols - 1]);
	}
	free(width);
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* The string at a path "a.b.c" of an object, or NULL. */
static const char *
cli_str(json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
}

/* The keys of an object, sorted. Calls malloc; caller frees the array. */
static const char **
cli_sorted_keys(json_t *map, size_t *np)
{
	const char **keys, *k;
	json_t *v;
	size_t n = json_object_size(map), i = 0, j;

	*np = 0;
	if ((keys = calloc(n ? n : 1, sizeof(*keys))) == NULL)
		return NULL;
	json_object_foreach(map, k, v) {
		if (i == n)
			break;
		keys[i++] = k;
	}
	n = i;
	/* Insertion sort: label sets are small. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			k = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = k;
		}
	*np = n;
	return keys;
}

/* "k=v,k2=v2" sorted by key, or "<none>". Calls malloc. */
static char *
cli_join_labels(json_t *map)
{
	const char **keys, *val;
	size_t n, i, len = 1;
	char *out;

	if (json_object_size(map) == 0)
		return strdup("<none>");
	if ((keys = cli_sorted_keys(map, &n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		val = json_string_value(json_object_get(map, keys[i]));
		len += strlen(keys[i]) + 2 + strlen(val ? val : "");
	}
	if ((out = malloc(len)) == NULL) {
		free(keys);
		return NULL;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		val = json_string_value(json_object_get(map, keys[i]));
		if (i > 0)
			strcat(out, ",");
		strcat(out, keys[i]);
		strcat(out, "=");
		strcat(out, val ? val : "");
	}
	free(keys);
	return out;
}

/* Adds a row with the NAMESPACE and LABELS columns when asked. */
static int
cli_add_row(struct cli_table *t, const struct cli_view *v, json_t *obj,
    const char **cells, size_t n)
{
	const char *row[16];
	char *labels = NULL, *name = NULL;
	size_t k = 0, i;
	int rc;

	if (v->all_ns)
		row[k++] = cli_str(obj, "metadata.namespace");
	for (i = 0; i < n && k < 15; i++)
		row[k++] = cells[i];
	/* "service/backend" when several kinds are listed, as kubectl. */
	if (v->prefix != NULL && n > 0 && cells[0] != NULL) {
		if (asprintf(&name, "%s%s", v->prefix, cells[0]) < 0)
			return -1;
		row[v->all_ns ? 1 : 0] = name;
	}
	if (v->show_labels) {
		labels = cli_join_labels(json_object_get(json_object_get(obj,
		    "metadata"), "labels"));
		row[k++] = labels;
	}
	rc = cli_table_add(t, row);
	free(labels);
	free(name);
	return rc;
}

static int
cli_init_table(struct cli_table *t, const struct cli_view *v,
    const char **cols, size_t n)
{
	const char *row[16];
	size_t k = 0, i;

	if (v->all_ns)
		row[k++] = "NAMESPACE";
	for (i = 0; i < n && k < 15; i++)
		row[k++] = cols[i];
	if (v->show_labels)
		row[k++] = "LABELS";
	return cli_table_init(t, k, row);
}

static char *
cli_svc_ports(json_t *svc)
{
	json_t *ports, *p;
	char *out, one[64];
	size_t i, len;

	ports = json_object_get(json_object_get(svc, "spec"), "ports");
	if (json_array_size(ports) == 0)
		return strdup("<none>");
	len = json_array_size(ports) * sizeof(one) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[0] = '\0';
	json_array_foreach(ports, i, p) {
		snprintf(one, sizeof(one), "%s%lld/%s", i ? "," : "",
		    (long long)json_integer_value(json_object_get(p, "port")),
		    cli_str(p, "protocol") ? cli_str(p, "protocol") : "TCP");
		strcat(out, one);
	}
	return out;
}

static void	cli_join(json_t *, char *, size_t);

size_t
cli_print_services(json_t *items, const struct cli_view *v, FILE *fp)
{
	static const char *cols[] = { "NAME", "TYPE", "CLUSTER-IP",
	    "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR" };
	struct cli_table t;
	const char *cells[7], *type, *cip;
	char age[32], *ports, *sel, ips[2 * 48];
	json_t *cips;
	json_t *svc, *s;
	size_t i;

	if (cli_init_table(&t, v, cols, v->wide ? 7 : 6) != 0) {
		cli_table_free(&t);
		return 0;
	}
	json_array_foreach(items, i, svc) {
		type = cli_str(svc, "spec.type");
		cip = cli_str(svc, "spec.clusterIP");
		cells[0] = cli_str(svc, "metadata.name");
		cells[1] = type ? type : "ClusterIP";
		cells[2] = cip && *cip ? cip : "<none>";
		/* -o wide: each family's address of a dual-stack service. */
		cips = json_object_get(json_object_get(svc, "spec"),
		    "clusterIPs");
		if (v->wide && json_array_size(cips) > 1) {
			cli_join(cips, ips, sizeof(ips));
			cells[2] = ips;
		}
		if (type != NULL && strcmp(type, "ExternalName") == 0)
			cells[3] = cli_str(svc, "spec.externalName");
		else
			cells[3] = "<none>";
		cells[4] = ports = cli_svc_ports(svc);
		cells[5] = cli_age(v->now, cli_parse_time(cli_str(svc,
		    "metadata.creationTimestamp")), age, sizeof(age));
		s = json_object_get(json_object_get(svc, "spec"), "selector");
		if (json_object_get(s, "matchLabels") != NULL ||
		    json_object_get(s, "matchExpressions") != NULL)
			s = json_object_get(s, "matchLabels");
		cells[6] = sel = cli_join_labels(s);
		cli_add_row(&t, v, svc, cells, v->wide ? 7 : 6);
		free(ports);
		free(sel);
	}
	cli_table_print(&t, !v->no_headers, fp);
	cli_table_free(&t);
	return json_array_size(items);
}

size_t
cli_print_pods(json_t *items, const struct cli_view *v, FILE *fp)
{
	static const char *cols[] = { "NAME", "READY", "STATUS", "RESTARTS",
	    "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES" };
	struct cli_table t;
	const char *cells[9], *st;
	char age[32];
	json_t *pod, *c;
	size_t i, j, n = v->wide ? 9 : 5;
	bool ready;

	if (cli_init_table(&t, v, cols, n) != 0) {
		cli_table_free(&t);
		return 0;
	}
	json_array_foreach(items, i, pod) {
		ready = false;
		json_array_foreach(json_object_get(json_object_get(pod,
		    "status"), "conditions"), j, c) {
			st = cli_str(c, "type");
			if (st != NULL && strcmp(st, "Ready") == 0)
				ready = cli_str(c, "status") != NULL &&
				    strcmp(cli_str(c, "status"), "True") == 0;
		}
		cells[0] = cli_str(pod, "metadata.name");
		cells[1] = ready ? "1/1" : "0/1";
		cells[2] = cli_str(pod, "status.phase") ?
		    cli_str(pod, "status.phase") : "Running";
		cells[3] = "0";
		cells[4] = cli_age(v->now, cli_parse_time(cli_str(pod,
		    "metadata.creationTimestamp")), age, sizeof(age));
		cells[5] = cli_str(pod, "status.podIP") ?
		    cli_str(pod, "status.podIP") : "<none>";
		cells[6] = cli_str(pod, "spec.nodeName") ?
		    cli_str(pod, "spec.nodeName") : "<none>";
		cells[7] = cells[8] = "<none>";
		cli_add_row(&t, v, pod, cells, n);
	}
	cli_table_print(&t, !v->no_headers, fp);
	cli_table_free(&t);
	return json_array_size(items);
}

/* The strings of a JSON array joined by ",", or "<none>". */
static void
cli_join(json_t *a, char *buf, size_t len)
{
	json_t *v;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
			    i ? "," : "", json_string_value(v));
	if (buf[0] == '\0')
		snprintf(buf, len, "<none>");
}

char *
cli_format_endpoints(json_t *ep, const char *port_name)
{
	json_t *ss, *addrs, *ports, *p, *a;
	const char *pn, *ip;
	char one[80], *out;
	size_t i, j, k, count = 0, shown = 0, len = 1;
	bool more = false;

	/* Room for CLI_ENDPOINTS_MAX entries and the suffix. */
	len = (CLI_ENDPOINTS_MAX + 1) * sizeof(one);
	if ((out = malloc(len)) == NULL)
		return NULL;
	out[0] = '\0';
	json_array_foreach(json_object_get(ep, "subsets"), i, ss) {
		addrs = json_object_get(ss, "addresses");
		ports = json_object_get(ss, "ports");
		if (json_array_size(ports) == 0) {
			count += json_array_size(addrs);
			json_array_foreach(addrs, k, a) {
				if (shown == CLI_ENDPOINTS_MAX) {
					more = true;
					break;
				}
				snprintf(one, sizeof(one), "%s%s",
				    shown ? "," : "", cli_str(a, "ip"));
				strcat(out, one);
				shown++;
			}
			continue;
		}
		json_array_foreach(ports, j, p) {
			pn = cli_str(p, "name");
			if (port_name != NULL && strcmp(port_name,
			    pn ? pn : "") != 0)
				continue;
			count += json_array_size(addrs);
			json_array_foreach(addrs, k, a) {
				if (shown == CLI_ENDPOINTS_MAX) {
					more = true;
					break;
				}
				/* IPv6 bracketed, as Go's JoinHostPort. */
				ip = cli_str(a, "ip") ? cli_str(a, "ip") : "";
				snprintf(one, sizeof(one), "%s%s%s%s:%lld",
				    shown ? "," : "", strchr(ip, ':') ? "[" :
				    "", ip, strchr(ip, ':') ? "]" : "",
				    (long long)json_integer_value(
				    json_object_get(p, "port")));
				strcat(out, one);
				shown++;
			}
		}
	}
	if (more) {
		snprintf(one, sizeof(one), " + %zu more...", count - shown);
		strcat(out, one);
	} else if (out[0] == '\0')
		strcpy(out, "<none>");
	return out;
}

size_t
cli_print_endpoints(json_t *items, const struct cli_view *v, FILE *fp)
{
	static const char *cols[] = { "NAME", "ENDPOINTS", "AGE" };
	struct cli_table t;
	const char *cells[3];
	char age[32], *eps;
	json_t *ep;
	size_t i;

	if (cli_init_table(&t, v, cols, 3) != 0) {
		cli_table_free(&t);
		return 0;
	}
	json_array_foreach(items, i, ep) {
		cells[0] = cli_str(ep, "metadata.name");
		cells[1] = eps = cli_format_endpoints(ep, NULL);
		cells[2] = cli_age(v->now, cli_parse_time(cli_str(ep,
		    "metadata.creationTimestamp")), age, sizeof(age));
		cli_add_row(&t, v, ep, cells, 3);
		free(eps);
	}
	cli_table_print(&t, !v->no_headers, fp);
	cli_table_free(&t);
	return json_array_size(items);
}

static void
cli_describe_line(FILE *fp, const char *label, const char *value)
{
	fprintf(fp, "%-*s%s\n", CLI_DESCRIBE_COL, label, value);
}

/*
 * The values of a map after its label: "k=v" per line, sorted, the
 * lines after the first indented to col; or <none>.
 */
static void
cli_describe_kv(FILE *fp, int col, json_t *map)
{
	const char **keys, *val;
	size_t n, i;

	if (json_object_size(map) == 0 ||
	    (keys = cli_sorted_keys(map, &n)) == NULL) {
		fprintf(fp, "<none>\n");
		return;
	}
	for (i = 0; i < n; i++) {
		val = json_string_value(json_object_get(map, keys[i]));
		fprintf(fp, "%-*s%s=%s\n", i ? col : 0, "", keys[i],
		    val ? val : "");
	}
	free(keys);
}

/* Labels and annotations: one "k=v" per line, sorted, or <none>. */
static void
cli_describe_map(FILE *fp, const char *label, json_t *map)
{
	const char **keys, *val;
	size_t n, i;

	if (json_object_size(map) == 0 ||
	    (keys = cli_sorted_keys(map, &n)) == NULL) {
		cli_describe_line(fp, label, "<none>");
		return;
	}
	for (i = 0; i < n; i++) {
		val = json_string_value(json_object_get(map, keys[i]));
		fprintf(fp, "%-*s%s=%s\n", CLI_DESCRIBE_COL, i ? "" : label,
		    keys[i], val ? val : "");
	}
	free(keys);
}

static char *
cli_selector_string(json_t *sel)
{
	json_t *exprs, *e, *vals, *val;
	char *out, *eq;
	const char *op, *key;
	size_t i, j, len;
	FILE *mem;

	exprs = json_object_get(sel, "matchExpressions");
	if (exprs == NULL && json_object_get(sel, "matchLabels") == NULL)
		return cli_join_labels(sel);
	out = NULL;
	len = 0;
	if ((mem = open_memstream(&out, &len)) == NULL)
		return NULL;
	eq = json_object_size(json_object_get(sel, "matchLabels")) > 0 ?
	    cli_join_labels(json_object_get(sel, "matchLabels")) : NULL;
	if (eq != NULL)
		fputs(eq, mem);
	free(eq);
	json_array_foreach(exprs, i, e) {
		key = cli_str(e, "key");
		op = cli_str(e, "operator");
		if (key == NULL || op == NULL)
			continue;
		if (ftell(mem) > 0)
			fputc(',', mem);
		if (strcmp(op, "Exists") == 0)
			fprintf(mem, "%s", key);
		else if (strcmp(op, "DoesNotExist") == 0)
			fprintf(mem, "!%s", key);
		else {
			fprintf(mem, "%s %s (", key, strcmp(op, "In") == 0 ?
			    "in" : "notin");
			vals = json_object_get(e, "values");
			json_array_foreach(vals, j, val)
				fprintf(mem, "%s%s", j ? "," : "",
				    json_string_value(val));
			fputc(')', mem);
		}
	}
	fclose(mem);
	return out;
}

void
cli_describe_service(json_t *svc, json_t *ep, FILE *fp)
{
	json_t *md, *spec, *p, *x, *st;
	const char *type, *proto, *name, *s;
	char *str, line[256];
	size_t i;

	md = json_object_get(svc, "metadata");
	spec = json_object_get(svc, "spec");
	type = cli_str(spec, "type") ? cli_str(spec, "type") : "ClusterIP";
	cli_describe_line(fp, "Name:", cli_str(md, "name"));
	cli_describe_line(fp, "Namespace:", cli_str(md, "namespace"));
	cli_describe_map(fp, "Labels:", json_object_get(md, "labels"));
	cli_describe_map(fp, "Annotations:",
	    json_object_get(md, "annotations"));
	str = cli_selector_string(json_object_get(spec, "selector"));
	cli_describe_line(fp, "Selector:", str ? str : "<none>");
	free(str);
	cli_describe_line(fp, "Type:", type);
	if ((s = cli_str(spec, "ipFamilyPolicy")) != NULL)
		cli_describe_line(fp, "IP Family Policy:", s);
	/* Both families of a dual-stack service, comma-separated. */
	cli_join(json_object_get(spec, "ipFamilies"), line, sizeof(line));
	cli_describe_line(fp, "IP Families:", line);
	s = cli_str(spec, "clusterIP");
	cli_describe_line(fp, "IP:", s ? s : "");
	cli_join(json_object_get(spec, "clusterIPs"), line, sizeof(line));
	cli_describe_line(fp, "IPs:", line);
	if (strcmp(type, "ExternalName") == 0 &&
	    (s = cli_str(spec, "externalName")) != NULL)
		cli_describe_line(fp, "External Name:", s);
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		name = cli_str(p, "name");
		proto = cli_str(p, "protocol") ? cli_str(p, "protocol") : "TCP";
		snprintf(line, sizeof(line), "%s  %lld/%s",
		    name ? name : "<unset>",
		    (long long)json_integer_value(json_object_get(p, "port")),
		    proto);
		cli_describe_line(fp, "Port:", line);
		x = json_object_get(p, "targetPort");
		if (json_is_string(x))
			snprintf(line, sizeof(line), "%s/%s",
			    json_string_value(x), proto);
		else
			snprintf(line, sizeof(line), "%lld/%s",
			    (long long)json_integer_value(x), proto);
		cli_describe_line(fp, "TargetPort:", line);
		str = cli_format_endpoints(ep, name ? name : "");
		cli_describe_line(fp, "Endpoints:", str ? str : "<none>");
		free(str);
	}
	s = cli_str(spec, "sessionAffinity");
	cli_describe_line(fp, "Session Affinity:", s ? s : "None");
	/* The kernel path, or why a service stays off it; else nothing. */
	st = json_object_get(svc, "status");
	s = cli_str(st, "proxyMode");
	if (s != NULL && (strcmp(s, "userspace") != 0 ||
	    cli_str(st, "proxyModeReason") != NULL)) {
		snprintf(line, sizeof(line), "%s%s%s%s", s,
		    cli_str(st, "proxyModeReason") ? " (" : "",
		    cli_str(st, "proxyModeReason") ?
		    cli_str(st, "proxyModeReason") : "",
		    cli_str(st, "proxyModeReason") ? ")" : "");
		cli_describe_line(fp, "Proxy Mode:", line);
	}
	/* Another host's VIP this host cannot route to its forwarder. */
	json_array_foreach(json_object_get(st, "vipsNotServed"), i, p) {
		snprintf(line, sizeof(line), "%s (%s)", cli_str(p, "ip") ?
		    cli_str(p, "ip") : "?", cli_str(p, "reason") ?
		    cli_str(p, "reason") : "?");
		cli_describe_line(fp, "Not Served Here:", line);
	}
	cli_describe_line(fp, "Events:", "<none>");
}

/*
 * kubectl describe pod's column: its labels run to "Service Account:",
 * so values start at 18 whatever the pod holds.
 */
#define CLI_DESCRIBE_POD_COL	18

static void
cli_describe_pod_line(FILE *fp, const char *label, const char *value)
{
	fprintf(fp, "%-*s%s\n", CLI_DESCRIBE_POD_COL, label, value);
}

/* The status of the condition of type "type", or NULL. */
static const char *
cli_condition(json_t *pod, const char *type)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "status"),
	    "conditions"), i, c)
		if (cli_str(c, "type") != NULL &&
		    strcmp(cli_str(c, "type"), type) == 0)
			return cli_str(c, "status");
	return NULL;
}

void
cli_describe_pod(json_t *pod, FILE *fp)
{
	json_t *md, *st, *x, *c, *p;
	const char *s, *ready;
	char when[64], line[128];
	struct tm tm;
	time_t t;
	size_t i, j, w, nports;
	int ci = 0;

	md = json_object_get(pod, "metadata");
	st = json_object_get(pod, "status");
	cli_describe_pod_line(fp, "Name:", cli_str(md, "name") ?
	    cli_str(md, "name") : "");
	cli_describe_pod_line(fp, "Namespace:", cli_str(md, "namespace") ?
	    cli_str(md, "namespace") : "default");
	/* kubectl's time.RFC1123Z, in UTC. */
	if ((t = cli_parse_time(cli_str(st, "startTime"))) != 0 &&
	    gmtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) > 0)
		cli_describe_pod_line(fp, "Start Time:", when);
	fprintf(fp, "%-*s", CLI_DESCRIBE_POD_COL, "Labels:");
	cli_describe_kv(fp, CLI_DESCRIBE_POD_COL, json_object_get(md,
	    "labels"));
	fprintf(fp, "%-*s", CLI_DESCRIBE_POD_COL, "Annotations:");
	cli_describe_kv(fp, CLI_DESCRIBE_POD_COL, json_object_get(md,
	    "annotations"));
	cli_describe_pod_line(fp, "Status:", cli_str(st, "phase") ?
	    cli_str(st, "phase") : "Running");
	s = cli_str(st, "podIP");
	cli_describe_pod_line(fp, "IP:", s ? s : "");
	x = json_object_get(st, "podIPs");
	if (json_array_size(x) == 0 && s != NULL)
		fprintf(fp, "IPs:\n  IP:  %s\n", s);
	else if (json_array_size(x) == 0)
		cli_describe_pod_line(fp, "IPs:", "<none>");
	else {
		fprintf(fp, "IPs:\n");
		json_array_foreach(x, i, p)
			fprintf(fp, "  IP:  %s\n", cli_str(p, "ip") ?
			    cli_str(p, "ip") : "");
	}
	s = cli_str(md, "owner");
	cli_describe_pod_line(fp, "Owner:", s ? s : "<unknown>");
	if (json_is_true(json_object_get(md, "leased")))
		cli_describe_pod_line(fp, "Lease:", "registered with a TTL; "
		    "gone unless renewed");
	ready = cli_condition(pod, "Ready");
	fprintf(fp, "Containers:\n");
	json_array_foreach(json_object_get(json_object_get(pod, "spec"),
	    "containers"), i, c) {
		s = cli_str(c, "name");
		if (s != NULL)
			fprintf(fp, "  %s:\n", s);
		else
			fprintf(fp, "  container-%d:\n", ci);
		ci++;
		x = json_object_get(c, "ports");
		nports = json_array_size(x);
		fprintf(fp, "    %-8s", nports > 1 ? "Ports:" : "Port:");
		if (nports == 0)
			fprintf(fp, "<none>");
		json_array_foreach(x, j, p) {
			s = cli_str(p, "name");
			snprintf(line, sizeof(line), "%lld/%s%s%s%s",
			    (long long)json_integer_value(json_object_get(p,
			    "containerPort")), cli_str(p, "protocol") ?
			    cli_str(p, "protocol") : "TCP", s ? " (" : "",
			    s ? s : "", s ? ")" : "");
			fprintf(fp, "%s%s", j ? ", " : "", line);
		}
		fprintf(fp, "\n    %-8s%s\n", "Ready:", ready != NULL &&
		    strcmp(ready, "True") == 0 ? "True" : "False");
	}
	if (ci == 0)
		fprintf(fp, "  <none>\n");
	x = json_object_get(st, "conditions");
	if (json_array_size(x) == 0)
		cli_describe_pod_line(fp, "Conditions:", "<none>");
	else {
		/* kubectl's tabwriter: the widest type, padding 2. */
		w = strlen("Type");
		json_array_foreach(x, i, c)
			if (cli_str(c, "type") != NULL &&
			    strlen(cli_str(c, "type")) > w)
				w = strlen(cli_str(c, "type"));
		fprintf(fp, "Conditions:\n  %-*s%s\n", (int)w + 2, "Type",
		    "Status");
		json_array_foreach(x, i, c)
			fprintf(fp, "  %-*s%s\n", (int)w + 2,
			    cli_str(c, "type") ? cli_str(c, "type") : "",
			    cli_str(c, "status") ? cli_str(c, "status") : "");
	}
	cli_describe_pod_line(fp, "Events:", "<none>");
}

/* True when a plain scalar s would not read back as the string s. */
static bool
cli_yaml_needs_quotes(const char *s)
{
	static const char *const special[] = { "y", "n", "yes", "no", "on",
	    "off", "true", "false", "null", "~", ".inf", "-.inf", "+.inf",
	    ".nan" };
	char *end;
	size_t i;

	if (*s == '\0')
		return true;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcasecmp(s, special[i]) == 0)
			return true;
	strtod(s, &end);
	if (*end == '\0')
		return true;
	/* YAML 1.1 timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00 */
	if (strlen(s) >= 8 && strspn(s, "0123456789") == 4 && s[4] == '-')
		return true;
	/* 0o17, 0b101 and YAML 1.1 sexagesimal like 1:20 read as numbers. */
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'b'))
		return true;
	if (s[0] >= '0' && s[0] <= '9' && strchr(s, ':') != NULL &&
	    strspn(s, "0123456789:.") == strlen(s))
		return true;
	return false;
}

static int
cli_yaml_emit(yaml_emitter_t *em, json_t *j)
{
	yaml_event_t ev;
	const char *key, *str;
	char num[64];
	json_t *v;
	size_t i;
	bool quote;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		    json_object_size(j) ? YAML_BLOCK_MAPPING_STYLE :
		    YAML_FLOW_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach(j, key, v) {
			quote = cli_yaml_needs_quotes(key);
			yaml_scalar_event_initialize(&ev, NULL, NULL,
			    (yaml_char_t *)(uintptr_t)key, (int)strlen(key),
			    !quote, 1, quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE :
			    YAML_ANY_SCALAR_STYLE);
			if (!yaml_emitter_emit(em, &ev) ||
			    cli_yaml_emit(em, v) != 0)
				return -1;
		}
		yaml_mapping_end_event_initialize(&ev);
		break;
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    json_array_size(j) ? YAML_BLOCK_SEQUENCE_STYLE :
		    YAML_FLOW_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(j, i, v)
			if (cli_yaml_emit(em, v) != 0)
				return -1;
		yaml_sequence_end_event_initialize(&ev);
		break;
	case JSON_STRING:
		str = json_string_value(j);
		quote = cli_yaml_needs_quotes(str);
		yaml_scalar_event_initialize(&ev, NULL, NULL,
		    (yaml_char_t *)(uintptr_t)str, (int)json_string_length(j),
		    !quote, 1, quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE :
		    YAML_ANY_SCALAR_STYLE);
		break;
	default:
		if (json_is_integer(j))
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(j));
		else if (json_is_real(j))
			snprintf(num, sizeof(num), "%.17g", json_real_value(j));
		else if (json_is_boolean(j))
			snprintf(num, sizeof(num), "%s", json_is_true(j) ?
			    "true" : "false");
		else
			snprintf(num, sizeof(num), "null");
		yaml_scalar_event_initialize(&ev, NULL, NULL,
		    (yaml_char_t *)num, (int)strlen(num), 1, 0,
		    YAML_PLAIN_SCALAR_STYLE);
		break;
	}
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int
cli_yaml_write(void *data, unsigned char *buf, size_t len)
{
	return fwrite(buf, 1, len, data) == len;
}

int
cli_print_yaml(json_t *doc, FILE *fp)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc = -1;

	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output(&em, cli_yaml_write, fp);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&em, &ev) || cli_yaml_emit(&em, doc) != 0)
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&em);
	return rc;
}

/* One line of an apply: an applied object or a skipped one. */
struct cli_apply_line {
	json_int_t	 line, col;
	size_t		 seq;
	json_t		*obj;
	bool		 skipped;
};

static int
cli_apply_cmp(const void *a, const void *b)
{
	const struct cli_apply_line *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* kubectl's resource name: "service", "deployment.apps". */
static void
cli_apply_resource(const char *kind, const char *api, char *buf, size_t len)
{
	const char *slash = api != NULL ? strchr(api, '/') : NULL;
	size_t i;

	snprintf(buf, len, "%s%s%.*s", kind != NULL ? kind : "object",
	    slash != NULL ? "." : "", slash != NULL ? (int)(slash - api) : 0,
	    slash != NULL ? api : "");
	for (i = 0; buf[i] != '\0' && buf[i] != '.'; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
}

size_t
cli_print_apply(json_t *result, FILE *out, FILE *errfp)
{
	json_t *items = json_object_get(result, "items");
	json_t *skipped = json_object_get(result, "skipped");
	json_t *warnings = json_object_get(result, "warnings");
	struct cli_apply_line *v;
	const char *pos, *name;
	char res[256];
	size_t i, n = 0, total;
	json_t *it;

	json_array_foreach(warnings, i, it) {
		pos = json_string_value(json_object_get(it, "position"));
		fprintf(errfp, "Warning: %s%s%s\n", pos ? pos : "",
		    pos ? ": " : "",
		    json_string_value(json_object_get(it, "message")));
	}
	total = json_array_size(items) + json_array_size(skipped);
	if (total == 0 || (v = calloc(total, sizeof(*v))) == NULL)
		return 0;
	json_array_foreach(items, i, it) {
		v[n].obj = it;
		v[n].seq = n;
		v[n].line = json_integer_value(json_object_get(it, "line"));
		v[n].col = json_integer_value(json_object_get(it, "column"));
		n++;
	}
	json_array_foreach(skipped, i, it) {
		v[n].obj = it;
		v[n].seq = n;
		v[n].skipped = true;
		v[n].line = json_integer_value(json_object_get(it, "line"));
		v[n].col = json_integer_value(json_object_get(it, "column"));
		n++;
	}
	qsort(v, n, sizeof(*v), cli_apply_cmp);
	for (i = 0; i < n; i++) {
		it = v[i].obj;
		cli_apply_resource(json_string_value(json_object_get(it,
		    "kind")), json_string_value(json_object_get(it,
		    "apiVersion")), res, sizeof(res));
		name = json_string_value(json_object_get(it, "name"));
		fprintf(out, "%s%s%s ", res, name ? "/" : "", name ? name : "");
		if (v[i].skipped)
			fprintf(out, "skipped (%s)\n", json_string_value(
			    json_object_get(it, "reason")));
		else
			fprintf(out, "%s\n", json_string_value(
			    json_object_get(it, "action")));
	}
	free(v);
	return n;
}
