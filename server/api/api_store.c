/* SPDX-License-Identifier: MIT */
/*
 * api_store.c -- objects applied through the API survive a restart: they
 * are written to STATE_DIR/api-objects.json (a v1 List, replaced
 * atomically after every change) and applied again at startup. Pods
 * registered with a TTL lease are not written. The loop only turns the
 * API's objects into a jansson tree (the snapshot); the state writer's
 * thread serializes and writes it.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"
#include "log.h"
#include "conf.h"
#include "registry.h"
#include "manifest.h"
#include "objjson.h"
#include "runtime.h"
#include "statewr.h"
#include "api_internal.h"

#define API_STORE_FILE		"api-objects.json"
#define API_STORE_MAX		(64u * 1024 * 1024)

struct api_store_walk {
	struct api	 *api;
	struct service	**svcs;
	size_t		  nsvcs, capsvcs;
	struct pod	**pods;
	size_t		  npods, cappods;
	bool		  oom;
};

static int	api_store_path(struct api *);
static char	*api_store_build(void *, size_t *);
static void	api_store_done(void *, int);

static int
api_store_path(struct api *api)
{
	const char *dir = api->rt->conf->state_dir;
	size_t len;

	if (api->state_path != NULL)
		return 0;
	if (dir == NULL || *dir == '\0')
		return -1;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		log_warn("api: state directory %s", dir);
		return -1;
	}
	len = strlen(dir) + sizeof(API_STORE_FILE) + 2;
	if ((api->state_path = malloc(len)) == NULL)
		return -1;
	snprintf(api->state_path, len, "%s/%s", dir, API_STORE_FILE);
	return 0;
}

static void
api_store_svc_cb(struct service *svc, void *arg)
{
	struct api_store_walk *w = arg;
	struct service **v;

	if (w->nsvcs == w->capsvcs) {
		w->capsvcs = w->capsvcs ? w->capsvcs * 2 : 16;
		if ((v = reallocarray(w->svcs, w->capsvcs, sizeof(*v))) ==
		    NULL) {
			w->oom = true;
			return;
		}
		w->svcs = v;
	}
	w->svcs[w->nsvcs++] = svc;
}

static void
api_store_pod_cb(struct pod *pod, void *arg)
{
	struct api_store_walk *w = arg;
	struct pod **v;

	if (api_lease_held(w->api, pod->key))
		return;
	if (w->npods == w->cappods) {
		w->cappods = w->cappods ? w->cappods * 2 : 16;
		if ((v = reallocarray(w->pods, w->cappods, sizeof(*v))) ==
		    NULL) {
			w->oom = true;
			return;
		}
		w->pods = v;
	}
	w->pods[w->npods++] = pod;
}

static int
api_store_cmp_svc(const void *a, const void *b)
{
	return strcmp((*(struct service *const *)a)->key,
	    (*(struct service *const *)b)->key);
}

/* Endpoints-derived pods first, grouped by their Endpoints object. */
static int
api_store_cmp_pod(const void *a, const void *b)
{
	const struct pod *x = *(struct pod *const *)a;
	const struct pod *y = *(struct pod *const *)b;
	int c;

	c = (y->endpoints_of != NULL) - (x->endpoints_of != NULL);
	if (c == 0 && x->endpoints_of != NULL)
		c = strcmp(x->endpoints_of, y->endpoints_of);
	return c != 0 ? c : strcmp(x->key, y->key);
}

/*
 * statewr_job build: the List's text. Runs on the writer thread, which
 * alone holds the tree (nothing in it is shared with the loop's).
 */
static char *
api_store_build(void *arg, size_t *len)
{
	char *text;

	if ((text = json_dumps(arg, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL) {
		errno = ENOMEM;
		return NULL;
	}
	*len = strlen(text);
	return text;
}

/* statewr_job done: the tree is of no more use. */
static void
api_store_done(void *arg, int err)
{
	(void)err;
	json_decref(arg);
}

int
api_store_save(struct api *api)
{
	const struct owner o = { .kind = OWNER_API, .id = NULL };
	struct api_store_walk w;
	struct statewr_job job;
	json_t *items = NULL, *doc = NULL, *it;
	char ns[API_NS_MAX + 1];
	const char *name;
	size_t i, j;
	int rc = -1;

	if (api_store_path(api) != 0)
		return 0;	/* no state directory: nothing persists */
	memset(&w, 0, sizeof(w));
	w.api = api;
	registry_foreach_owned(api->rt->reg, &o, api_store_svc_cb,
	    api_store_pod_cb, &w);
	if (w.oom || (items = json_array()) == NULL)
		goto out;
	if (w.nsvcs > 0)
		qsort(w.svcs, w.nsvcs, sizeof(*w.svcs), api_store_cmp_svc);
	if (w.npods > 0)
		qsort(w.pods, w.npods, sizeof(*w.pods), api_store_cmp_pod);
	for (i = 0; i < w.nsvcs; i++)
		if ((it = objjson_service(w.svcs[i], OBJJSON_MANIFEST)) ==
		    NULL || json_array_append_new(items, it) != 0)
			goto out;
	for (i = 0; i < w.npods; i = j) {
		j = i + 1;
		if (w.pods[i]->endpoints_of == NULL) {
			it = objjson_pod(w.pods[i], OBJJSON_MANIFEST);
		} else {
			while (j < w.npods && w.pods[j]->endpoints_of != NULL &&
			    strcmp(w.pods[j]->endpoints_of,
			    w.pods[i]->endpoints_of) == 0)
				j++;
			name = strchr(w.pods[i]->endpoints_of, '/');
			if (name == NULL || (size_t)(name -
			    w.pods[i]->endpoints_of) >= sizeof(ns))
				continue;
			memcpy(ns, w.pods[i]->endpoints_of,
			    (size_t)(name - w.pods[i]->endpoints_of));
			ns[name - w.pods[i]->endpoints_of] = '\0';
			it = objjson_endpoints_manifest(ns, name + 1,
			    &w.pods[i], j - i);
		}
		if (it == NULL || json_array_append_new(items, it) != 0)
			goto out;
	}
	doc = objjson_list("List", items);
	items = NULL;
	if (doc == NULL)
		goto out;
	job.build = api_store_build;
	job.done = api_store_done;
	job.ctx = doc;
	doc = NULL;	/* the job's now, freed by done */
	if (api->rt->sw != NULL)
		/* Written off the loop; api_reply_durable waits for it. */
		rc = statewr_submit_job(api->rt->sw, api->state_path, &job,
		    0600);
	else if ((rc = statewr_run_job(api->state_path, &job, 0600)) != 0)
		log_warn("api: %s", api->state_path);
out:
	if (rc != 0)
		log_warnx("api: cannot save %s", api->state_path);
	json_decref(doc);
	json_decref(items);
	free(w.svcs);
	free(w.pods);
	return rc;
}

int
api_store_load(struct api *api)
{
	struct objset set;
	struct stat st;
	char err[1024], bad[4096], *buf = NULL;
	size_t n = 0;
	FILE *fp;
	int rc;

	memset(&set, 0, sizeof(set));
	if (api_store_path(api) != 0)
		return 0;
	if ((fp = fopen(api->state_path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("api: %s", api->state_path);
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1 || st.st_size > API_STORE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warnx("api: cannot read %s", api->state_path);
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	buf[n] = '\0';
	rc = manifest_parse_buf(buf, n, api->state_path, &set, NULL, err,
	    sizeof(err));
	if (rc == 0)
		rc = registry_apply(api->rt->reg, &api->owner, &set,
		    REGISTRY_MERGE, err, sizeof(err));
	objset_clear(&set);
	free(buf);
	if (rc != 0) {
		/* Kept aside for the operator; the next change starts anew. */
		snprintf(bad, sizeof(bad), "%s.bad", api->state_path);
		log_warnx("api: %s refused (%s); moved to %s", api->state_path,
		    err, bad);
		rename(api->state_path, bad);
		return 0;
	}
	log_info("api: restored %zu service(s) and %zu pod(s) from %s",
	    registry_count_services(api->rt->reg),
	    registry_count_pods(api->rt->reg), api->state_path);
	return 0;
}
