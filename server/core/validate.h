/* SPDX-License-Identifier: MIT */
/*
 * validate.h -- the name rules of Kubernetes objects, one copy for every
 * front end (manifests, the API's routes and bodies, Docker labels,
 * selectors). Each takes the text and its length (no NUL needed). Pure.
 */
#ifndef CIP_VALIDATE_H
#define CIP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 63 at most (namespaces). */
bool	validate_dns_label(const char *s, size_t len);
/* RFC 1035 label: the same, starting with a letter (Service names). */
bool	validate_dns1035_label(const char *s, size_t len);
/* RFC 1123 subdomain: such labels joined by dots, 253 at most. */
bool	validate_dns_subdomain(const char *s, size_t len);
/*
 * An IANA service name, as Kubernetes wants port names: [a-z0-9-], 15 at
 * most, a letter at least, no '-' first, last or twice in a row.
 */
bool	validate_port_name(const char *s, size_t len);
/*
 * A label's name (after the prefix) or non-empty value:
 * ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], 63 at most.
 */
bool	validate_label_name(const char *s, size_t len);

#endif
