/* SPDX-License-Identifier: MIT */
/*
 * curl_dl.c -- libcurl by dlopen(3), on first use (curl_dl.h says why).
 *
 * The library is the one configure found (its soname, CIP_LIBCURL_SONAME)
 * and is never unloaded: libcurl keeps global state from
 * curl_global_init on, and a daemon that once needed HTTP needs it again
 * after a reload.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "log.h"
#include "curl_dl.h"

static struct curl_dl	 curl_fns;
static const struct curl_dl *curl_loaded;
static pthread_mutex_t	 curl_mtx = PTHREAD_MUTEX_INITIALIZER;

#define CURL_SYM(m, name)	{ offsetof(struct curl_dl, m), name }
static const struct {
	size_t		 off;
	const char	*name;
} curl_syms[] = {
	CURL_SYM(global_init,		"curl_global_init"),
	CURL_SYM(easy_init,		"curl_easy_init"),
	CURL_SYM(easy_setopt,		"curl_easy_setopt"),
	CURL_SYM(easy_getinfo,		"curl_easy_getinfo"),
	CURL_SYM(easy_strerror,		"curl_easy_strerror"),
	CURL_SYM(easy_cleanup,		"curl_easy_cleanup"),
	CURL_SYM(slist_append,		"curl_slist_append"),
	CURL_SYM(slist_free_all,	"curl_slist_free_all"),
	CURL_SYM(multi_init,		"curl_multi_init"),
	CURL_SYM(multi_setopt,		"curl_multi_setopt"),
	CURL_SYM(multi_add_handle,	"curl_multi_add_handle"),
	CURL_SYM(multi_remove_handle,	"curl_multi_remove_handle"),
	CURL_SYM(multi_assign,		"curl_multi_assign"),
	CURL_SYM(multi_socket_action,	"curl_multi_socket_action"),
	CURL_SYM(multi_info_read,	"curl_multi_info_read"),
	CURL_SYM(multi_strerror,	"curl_multi_strerror"),
	CURL_SYM(multi_cleanup,		"curl_multi_cleanup"),
};
#undef CURL_SYM

/* Fills curl_fns from an opened library. 0, or -1 (logged). */
static int
curl_dl_resolve(void *h)
{
	curl_version_info_data *(*version)(CURLversion);
	const curl_version_info_data *vi;
	size_t i;
	void *sym;

	for (i = 0; i < sizeof(curl_syms) / sizeof(curl_syms[0]); i++) {
		if ((sym = dlsym(h, curl_syms[i].name)) == NULL) {
			log_warnx("libcurl: %s: %s", curl_syms[i].name,
			    dlerror());
			return -1;
		}
		/* A data pointer is a function pointer on every POSIX system. */
		*(void **)((char *)&curl_fns + curl_syms[i].off) = sym;
	}
	*(void **)&version = dlsym(h, "curl_version_info");
	if (version == NULL || (vi = version(CURLVERSION_NOW)) == NULL) {
		log_warnx("libcurl: no curl_version_info");
		return -1;
	}
	/* The options this build sets must be known to the library. */
	if (vi->version_num < 0x075500) {
		log_warnx("libcurl %s is older than 7.85, which the daemon "
		    "needs", vi->version);
		return -1;
	}
	return 0;
}

const struct curl_dl *
curl_dl_load(void)
{
	return curl_dl_load_name(CIP_LIBCURL_SONAME);
}

const struct curl_dl *
curl_dl_load_name(const char *soname)
{
	const struct curl_dl *fns = NULL;
	void *h;
	CURLcode cc;

	pthread_mutex_lock(&curl_mtx);
	if (curl_loaded != NULL) {
		fns = curl_loaded;
		goto out;
	}
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("cannot load libcurl (%s): %s", soname, dlerror());
		goto out;
	}
	if (curl_dl_resolve(h) == -1) {
		dlclose(h);
		goto out;
	}
	if ((cc = curl_fns.global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		log_warnx("curl_global_init: %s", curl_fns.easy_strerror(cc));
		dlclose(h);
		goto out;
	}
	log_debug("loaded %s", soname);
	fns = curl_loaded = &curl_fns;
out:
	pthread_mutex_unlock(&curl_mtx);
	return fns;
}
