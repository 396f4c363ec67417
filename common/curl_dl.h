/* SPDX-License-Identifier: MIT */
/*
 * curl_dl.h -- libcurl, loaded when the daemon first needs an HTTP
 * client (the Docker provider, etcd) rather than linked: libcurl brings
 * a dozen libraries of its own (TLS, Kerberos, LDAP, SSH, ...), about
 * 4 MiB of memory that a daemon serving only manifests never uses.
 *
 * The table's members have the types of libcurl's own functions, taken
 * from <curl/curl.h>, so a call through them is checked as a direct
 * call would be (bar libcurl's option-type macros).
 */
#ifndef CIP_CURL_DL_H
#define CIP_CURL_DL_H

#include <curl/curl.h>

struct curl_dl {
	__typeof__(curl_global_init)		*global_init;
	__typeof__(curl_easy_init)		*easy_init;
	__typeof__(curl_easy_setopt)		*easy_setopt;
	__typeof__(curl_easy_getinfo)		*easy_getinfo;
	__typeof__(curl_easy_strerror)		*easy_strerror;
	__typeof__(curl_easy_cleanup)		*easy_cleanup;
	__typeof__(curl_slist_append)		*slist_append;
	__typeof__(curl_slist_free_all)		*slist_free_all;
	__typeof__(curl_multi_init)		*multi_init;
	__typeof__(curl_multi_setopt)		*multi_setopt;
	__typeof__(curl_multi_add_handle)	*multi_add_handle;
	__typeof__(curl_multi_remove_handle)	*multi_remove_handle;
	__typeof__(curl_multi_assign)		*multi_assign;
	__typeof__(curl_multi_socket_action)	*multi_socket_action;
	__typeof__(curl_multi_info_read)	*multi_info_read;
	__typeof__(curl_multi_strerror)		*multi_strerror;
	__typeof__(curl_multi_cleanup)		*multi_cleanup;
};

/*
 * Loads libcurl (once; it stays loaded) and runs curl_global_init.
 * Returns its functions, or NULL (logged: the library or a symbol is
 * missing, or libcurl is older than the build needs).
 */
const struct curl_dl	*curl_dl_load(void);
/*
 * The same with another soname (the tests' missing library). Once one
 * is loaded, every call returns it, whatever the name.
 */
const struct curl_dl	*curl_dl_load_name(const char *soname);

#endif /* CIP_CURL_DL_H */
