/* SPDX-License-Identifier: MIT */
/*
 * registry.c -- services, pods and their memberships; the only owner of that
 * state. Pods find the services selecting them through a label index, and
 * services their pods through a pod label index, so a change costs work
 * proportional to what changed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "log.h"
#include "registry.h"
#include "util.h"
#include "vip.h"

/* A growable list of pointers, the value type of the indexes. */
struct plist {
	void	**v;
	size_t	  n;
	size_t	  cap;
};

/*
 * The value type of the label indexes, one block: most keys list one
 * object (a service's own app=name), so it grows from a single slot.
 */
struct ilist {
	size_t	 n;
	size_t	 cap;
	void	*v[];
};

/*
 * PTR_APPEND growing from one slot: a pod is mostly in one service and
 * a service has few pods, so slots for eight would mostly stay empty.
 */
#define MEMBER_APPEND(arr, n, cap, p)	PTR_APPEND_FROM(arr, n, cap, p, 1)

struct subscriber {
	registry_cb	*cb;
	void		*arg;
};

/* What one owner holds, so REPLACE touches only that owner's objects. */
struct owned {
	struct ptab	 svcs;	/* services, by address */
	struct ptab	 pods;	/* pods, by address */
	/* The owner's id, which the owner.id of its objects point at. */
	char		*id;
	enum owner_kind	 kind;
};

struct registry {
	struct vip_pool		*vips;
	enum lb_algo		 default_algo;
	struct ptab		 svcs;		/* by key "ns/name" */
	struct ptab		 pods;		/* by key "ns/name" */
	struct ptab		 by_vip;	/* services by vip */
	struct ptab		 by_vip6;	/* services by vip6 */
	/* The first pod of each address; the others chain by ip_next. */
	struct ptab		 by_ip;
	struct ptab		 by_ip6;	/* the same by ip6, ip6_next */
	uint64_t		 last_uid;	/* the last uid given */
	struct hmap		*namespaces;	/* ns -> struct plist (count in n) */
	/* "k=v" -> services whose selector requires k=v (first EQ only). */
	struct hmap		*svc_index;
	/* services whose selector has no EQ requirement: checked always. */
	struct plist		 svc_unindexed;
	/* "k=v" and "\x01svc-key" (Endpoints pods) -> pods. */
	struct hmap		*pod_index;
	struct hmap		*owners;	/* owner string -> struct owned */
	struct owned		*owned_last;	/* last looked up */
	struct subscriber	*subs;
	size_t			 nsubs;
	size_t			 cap_subs;
};

static void plist_free(void *);
static void owned_free(void *);

/* --- the tables of objects, keyed by what the objects hold ---------- */

static uint32_t
svc_hash(const void *o)
{
	return ptab_hash_str(((const struct service *)o)->key);
}

static bool
svc_match(const void *o, const void *key)
{
	return strcmp(((const struct service *)o)->key, key) == 0;
}

static uint32_t
pod_hash(const void *o)
{
	return ptab_hash_str(((const struct pod *)o)->key);
}

static bool
pod_match(const void *o, const void *key)
{
	return strcmp(((const struct pod *)o)->key, key) == 0;
}

static uint32_t
vip_hash(const void *o)
{
	return ptab_hash_u64(((const struct service *)o)->vip.s_addr);
}

static bool
vip_match(const void *o, const void *key)
{
	return ((const struct service *)o)->vip.s_addr ==
	    ((const struct in_addr *)key)->s_addr;
}

static uint32_t
ip_hash(const void *o)
{
	return ptab_hash_u64(((const struct pod *)o)->ip.s_addr);
}

static bool
ip_match(const void *o, const void *key)
{
	return ((const struct pod *)o)->ip.s_addr ==
	    ((const struct in_addr *)key)->s_addr;
}

static uint32_t
in6_hash(const struct in6_addr *a)
{
	return (uint32_t)hash_fnv1a(a, sizeof(*a));
}

static uint32_t
vip6_hash(const void *o)
{
	return in6_hash(&((const struct service *)o)->ext->vip6);
}

static bool
vip6_match(const void *o, const void *key)
{
	return memcmp(&((const struct service *)o)->ext->vip6, key,
	    sizeof(struct in6_addr)) == 0;
}

static uint32_t
ip6_hash(const void *o)
{
	return in6_hash(&((const struct pod *)o)->ip6);
}

static bool
ip6_match(const void *o, const void *key)
{
	return memcmp(&((const struct pod *)o)->ip6, key,
	    sizeof(struct in6_addr)) == 0;
}

static uint32_t
ptr_hash(const void *o)
{
	return ptab_hash_u64((uintptr_t)o);
}

static struct service *
svc_get(const struct registry *r, const char *key)
{
	return ptab_find(&r->svcs, ptab_hash_str(key), svc_match, key);
}

static struct pod *
pod_get(const struct registry *r, const char *key)
{
	return ptab_find(&r->pods, ptab_hash_str(key), pod_match, key);
}

/* --- small helpers ---------------------------------------------------- */

static int
plist_add(struct plist *l, void *p)
{
	return PTR_APPEND(l->v, l->n, l->cap, p);
}

static void
plist_remove(struct plist *l, const void *p)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == p) {
			memmove(&l->v[i], &l->v[i + 1],
			    (l->n - i - 1) * sizeof(*l->v));
			l->n--;
			return;
		}
}

static void
plist_free(void *arg)
{
	struct plist *l = arg;

	if (l) {
		free(l->v);
		free(l);
	}
}

/* Adds p to the list stored under key, creating it. */
static int
index_add(struct hmap *idx, const char *key, void *p)
{
	struct ilist *l = hmap_get(idx, key), *nl;
	size_t ncap;

	if (l == NULL || l->n == l->cap) {
		ncap = l ? l->cap * 2 : 1;
		if ((nl = realloc(l, sizeof(*nl) + ncap * sizeof(void *))) ==
		    NULL)
			return ERR_NOMEM;
		if (l == NULL)
			nl->n = 0;
		nl->cap = ncap;
		/* Replacing the value of a present key cannot fail. */
		if (hmap_put(idx, key, nl, NULL) != 0) {
			free(nl);
			return ERR_NOMEM;
		}
		l = nl;
	}
	l->v[l->n++] = p;
	return 0;
}

static void
index_remove(struct hmap *idx, const char *key, const void *p)
{
	struct ilist *l = hmap_get(idx, key);
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		if (l->v[i] == p) {
			memmove(&l->v[i], &l->v[i + 1],
			    (l->n - i - 1) * sizeof(*l->v));
			l->n--;
			break;
		}
	if (l->n == 0)
		free(hmap_del(idx, key));
}

static char *
kv_key(const char *k, const char *v)
{
	size_t len = strlen(k) + strlen(v) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s=%s", k, v);
	return s;
}

static char *
ep_key(const char *svc_key)
{
	size_t len = strlen(svc_key) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "\x01%s", svc_key);
	return s;
}

static char *
owner_key(const struct owner *o)
{
	static const char *const kinds[] = { "file", "api", "docker", "etcd" };
	const char *id = o->id ? o->id : "";
	size_t len = strlen(id) + 10;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s:%s", kinds[o->kind], id);
	return s;
}

static void
publish(struct registry *r, enum registry_event ev,
    const struct service *s, const struct pod *p)
{
	size_t i;

	for (i = 0; i < r->nsubs; i++)
		r->subs[i].cb(ev, s, p, r->subs[i].arg);
}

static void
ns_ref(struct registry *r, const char *ns, int delta)
{
	struct plist *l = hmap_get(r->namespaces, ns);

	if (delta > 0) {
		if (l == NULL) {
			if ((l = calloc(1, sizeof(*l))) == NULL)
				return;
			if (hmap_put(r->namespaces, ns, l, NULL) != 0) {
				free(l);
				return;
			}
		}
		l->n++;
	} else if (l != NULL && --l->n == 0)
		plist_free(hmap_del(r->namespaces, ns));
}

static struct owned *
owned_get(struct registry *r, const struct owner *o, bool create)
{
	struct owned *ow;
	char *k;

	/* Entries live as long as the registry: the last one is cached. */
	if ((ow = r->owned_last) != NULL && ow->kind == o->kind &&
	    streq_null(ow->id, o->id))
		return ow;
	if ((k = owner_key(o)) == NULL)
		return NULL;
	ow = hmap_get(r->owners, k);
	if (ow == NULL && create) {
		if ((ow = calloc(1, sizeof(*ow))) != NULL) {
			ptab_init(&ow->svcs, ptr_hash);
			ptab_init(&ow->pods, ptr_hash);
			ow->kind = o->kind;
			if ((o->id != NULL &&
			    (ow->id = strdup(o->id)) == NULL) ||
			    hmap_put(r->owners, k, ow, NULL) != 0) {
				free(ow->id);
				free(ow);
				ow = NULL;
			}
		}
	}
	free(k);
	if (ow != NULL)
		r->owned_last = ow;
	return ow;
}

/*
 * Drops the entry of an owner that holds nothing any more (a stopped
 * container, a deleted file), so churn does not grow the registry.
 */
static void
owned_maybe_free(struct registry *r, struct owned *ow)
{
	struct owner o = { ow->kind, ow->id };
	char *k;

	if (ow->svcs.count != 0 || ow->pods.count != 0 ||
	    (k = owner_key(&o)) == NULL)
		return;
	if (hmap_get(r->owners, k) == ow) {
		hmap_del(r->owners, k);
		if (r->owned_last == ow)
			r->owned_last = NULL;
		owned_free(ow);
	}
	free(k);
}

static void
owned_free(void *arg)
{
	struct owned *ow = arg;

	ptab_clear(&ow->svcs);
	ptab_clear(&ow->pods);
	free(ow->id);
	free(ow);
}

/* --- life cycle --------------------------------------------------------- */

struct registry *
registry_new(struct vip_pool *vips)
{
	struct registry *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->vips = vips;
	ptab_init(&r->svcs, svc_hash);
	ptab_init(&r->pods, pod_hash);
	ptab_init(&r->by_vip, vip_hash);
	ptab_init(&r->by_ip, ip_hash);
	ptab_init(&r->by_vip6, vip6_hash);
	ptab_init(&r->by_ip6, ip6_hash);
	r->namespaces = hmap_new();
	r->svc_index = hmap_new();
	r->pod_index = hmap_new();
	r->owners = hmap_new();
	if (!r->namespaces ||
	    !r->svc_index || !r->pod_index || !r->owners) {
		registry_free(r);
		return NULL;
	}
	return r;
}

void
registry_free(struct registry *r)
{
	struct service *s;
	struct pod *p;
	size_t pos;

	if (r == NULL)
		return;
	for (pos = 0; (s = ptab_next(&r->svcs, &pos)) != NULL; )
		service_free(s);
	for (pos = 0; (p = ptab_next(&r->pods, &pos)) != NULL; )
		pod_free(p);
	ptab_clear(&r->svcs);
	ptab_clear(&r->pods);
	ptab_clear(&r->by_vip);
	ptab_clear(&r->by_ip);
	ptab_clear(&r->by_vip6);
	ptab_clear(&r->by_ip6);
	hmap_free(r->namespaces, plist_free);
	hmap_free(r->svc_index, free);
	hmap_free(r->pod_index, free);
	hmap_free(r->owners, owned_free);
	free(r->svc_unindexed.v);
	free(r->subs);
	free(r);
}

void
registry_set_default_algo(struct registry *r, enum lb_algo a)
{
	r->default_algo = a;
}

int
registry_subscribe(struct registry *r, registry_cb *cb, void *arg)
{
	struct subscriber s = { cb, arg };

	if (r->nsubs == r->cap_subs) {
		size_t nc = r->cap_subs ? r->cap_subs * 2 : 4;
		struct subscriber *ns = realloc(r->subs, nc * sizeof(*ns));
		if (ns == NULL)
			return ERR_NOMEM;
		r->subs = ns;
		r->cap_subs = nc;
	}
	r->subs[r->nsubs++] = s;
	return 0;
}

void
registry_unsubscribe(struct registry *r, registry_cb *cb, void *arg)
{
	size_t i;

	for (i = 0; i < r->nsubs; i++)
		if (r->subs[i].cb == cb && r->subs[i].arg == arg) {
			memmove(&r->subs[i], &r->subs[i + 1],
			    (r->nsubs - i - 1) * sizeof(*r->subs));
			r->nsubs--;
			return;
		}
}

/* --- membership ------------------------------------------------------- */

static void
member_link(struct service *s, struct pod *p)
{
	if (MEMBER_APPEND(s->members, s->nmembers, s->members_cap, p) != 0)
		return;
	if (MEMBER_APPEND(p->member_of, p->nmember_of, p->member_of_cap,
	    s) != 0)
		s->nmembers--;
}

static bool
member_unlink(struct service *s, struct pod *p)
{
	size_t i;
	bool found = false;

	for (i = 0; i < s->nmembers; i++)
		if (s->members[i] == p) {
			memmove(&s->members[i], &s->members[i + 1],
			    (s->nmembers - i - 1) * sizeof(*s->members));
			s->nmembers--;
			found = true;
			break;
		}
	for (i = 0; i < p->nmember_of; i++)
		if (p->member_of[i] == s) {
			memmove(&p->member_of[i], &p->member_of[i + 1],
			    (p->nmember_of - i - 1) * sizeof(*p->member_of));
			p->nmember_of--;
			break;
		}
	return found;
}

static bool
service_selects(const struct service *s, const struct pod *p)
{
	if (strcmp(s->ns, p->ns) != 0 || s->type == SVC_EXTERNALNAME)
		return false;
	if (p->endpoints_of != NULL)
		return s->selector == NULL &&
		    strcmp(p->endpoints_of, s->key) == 0;
	return s->selector != NULL && selector_match(s->selector, &p->labels);
}

/* The index key of a service: its first EQ requirement, or NULL. */
static char *
svc_index_key(const struct service *s)
{
	size_t i;

	if (s->selector == NULL)
		return ep_key(s->key);
	for (i = 0; i < s->selector->nreqs; i++) {
		const struct selector_req *q = &s->selector->reqs[i];
		if (q->op == SELECTOR_OP_EQ)
			return kv_key(q->key, q->values[0]);
	}
	return NULL;
}

static void
svc_index(struct registry *r, struct service *s, bool add)
{
	char *k;

	/*
	 * Pods of a service without selector come from its Endpoints and
	 * name it (endpoints_of): they find it in svcs, not in the index.
	 */
	if (s->type == SVC_EXTERNALNAME || s->selector == NULL)
		return;
	if ((k = svc_index_key(s)) == NULL) {
		if (add)
			plist_add(&r->svc_unindexed, s);
		else
			plist_remove(&r->svc_unindexed, s);
		return;
	}
	if (add)
		index_add(r->svc_index, k, s);
	else
		index_remove(r->svc_index, k, s);
	free(k);
}

static void
pod_index(struct registry *r, struct pod *p, bool add)
{
	size_t i;
	char *k;

	if (p->endpoints_of != NULL) {
		if ((k = ep_key(p->endpoints_of)) == NULL)
			return;
		if (add)
			index_add(r->pod_index, k, p);
		else
			index_remove(r->pod_index, k, p);
		free(k);
		return;
	}
	for (i = 0; i < p->labels.n; i++) {
		if ((k = kv_key(p->labels.v[i].key,
		    p->labels.v[i].value)) == NULL)
			continue;
		if (add)
			index_add(r->pod_index, k, p);
		else
			index_remove(r->pod_index, k, p);
		free(k);
	}
}

/* Links a newly inserted service to the pods it selects. */
static void
svc_attach_pods(struct registry *r, struct service *s)
{
	struct ilist *l;
	struct pod *p;
	char *k;
	size_t i, pos;

	if (s->type == SVC_EXTERNALNAME || r->pods.count == 0)
		return;
	if ((k = svc_index_key(s)) != NULL) {
		l = hmap_get(r->pod_index, k);
		free(k);
		for (i = 0; l != NULL && i < l->n; i++)
			if (service_selects(s, l->v[i]))
				member_link(s, l->v[i]);
		return;
	}
	/* A selector of set requirements only: every pod is a candidate. */
	for (pos = 0; (p = ptab_next(&r->pods, &pos)) != NULL; )
		if (service_selects(s, p))
			member_link(s, p);
}

/* Links a newly inserted pod to the services selecting it. */
static void
pod_attach_services(struct registry *r, struct pod *p)
{
	struct ilist *l;
	size_t i, j;
	char *k;

	if (p->endpoints_of != NULL) {
		struct service *s = svc_get(r, p->endpoints_of);
		if (s != NULL && service_selects(s, p))
			member_link(s, p);
		return;
	}
	for (i = 0; i < p->labels.n; i++) {
		if ((k = kv_key(p->labels.v[i].key,
		    p->labels.v[i].value)) == NULL)
			continue;
		l = hmap_get(r->svc_index, k);
		free(k);
		for (j = 0; l != NULL && j < l->n; j++)
			if (service_selects(l->v[j], p))
				member_link(l->v[j], p);
	}
	for (j = 0; j < r->svc_unindexed.n; j++)
		if (service_selects(r->svc_unindexed.v[j], p))
			member_link(r->svc_unindexed.v[j], p);
}

/* --- insertion and removal ------------------------------------------- */

static void
svc_track_vip4(struct registry *r, struct service *s, bool add)
{
	struct service *prev;

	if (s->vip.s_addr == 0)
		return;
	if (!add) {
		ptab_remove(&r->by_vip, s);
		return;
	}
	/* The last service given an address holds it. */
	prev = ptab_find(&r->by_vip, vip_hash(s), vip_match, &s->vip);
	if (prev == s)
		return;
	if (prev != NULL)
		ptab_remove(&r->by_vip, prev);
	(void)ptab_add(&r->by_vip, s);
}

static void
svc_track_vip6(struct registry *r, struct service *s, bool add)
{
	struct service *prev;

	if (in6_is_unset(&s->ext->vip6))
		return;
	if (!add) {
		ptab_remove(&r->by_vip6, s);
		return;
	}
	prev = ptab_find(&r->by_vip6, vip6_hash(s), vip6_match, &s->ext->vip6);
	if (prev == s)
		return;
	if (prev != NULL)
		ptab_remove(&r->by_vip6, prev);
	(void)ptab_add(&r->by_vip6, s);
}

static void
svc_track_vip(struct registry *r, struct service *s, bool add)
{
	svc_track_vip4(r, s, add);
	svc_track_vip6(r, s, add);
}

static void
svc_track_owner(struct registry *r, struct service *s, bool add)
{
	struct owned *ow = owned_get(r, &s->owner, add);

	if (ow == NULL)
		return;
	if (add)
		(void)ptab_add(&ow->svcs, s);
	else
		ptab_remove(&ow->svcs, s);
}

static void
pod_track_owner(struct registry *r, struct pod *p, bool add)
{
	struct owned *ow = owned_get(r, &p->owner, add);

	if (ow == NULL)
		return;
	if (add)
		(void)ptab_add(&ow->pods, p);
	else
		ptab_remove(&ow->pods, p);
}

/*
 * Files p under its address, after the pods that already hold it, or
 * takes it out. A pod without address is not filed.
 */
static void
pod_track_ip4(struct registry *r, struct pod *p, bool add)
{
	struct pod *head, **pp;

	if (p->ip.s_addr == 0)
		return;
	head = ptab_find(&r->by_ip, ip_hash(p), ip_match, &p->ip);
	if (add) {
		p->ip_next = NULL;
		if (head == NULL) {
			if (ptab_add(&r->by_ip, p) != 0)
				log_warnx("%s: out of memory; PTR of %s may "
				    "be missing", __func__, p->key);
			return;
		}
		for (pp = &head->ip_next; *pp != NULL; pp = &(*pp)->ip_next)
			;
		*pp = p;
		return;
	}
	if (head == p) {
		ptab_remove(&r->by_ip, p);
		/* Room for it: the head it replaces just left. */
		if (p->ip_next != NULL)
			(void)ptab_add(&r->by_ip, p->ip_next);
	} else if (head != NULL) {
		for (pp = &head->ip_next; *pp != NULL; pp = &(*pp)->ip_next)
			if (*pp == p) {
				*pp = p->ip_next;
				break;
			}
	}
	p->ip_next = NULL;
}

static void
pod_track_ip6(struct registry *r, struct pod *p, bool add)
{
	struct pod *head, **pp;

	if (in6_is_unset(&p->ip6))
		return;
	head = ptab_find(&r->by_ip6, ip6_hash(p), ip6_match, &p->ip6);
	if (add) {
		p->ip6_next = NULL;
		if (head == NULL) {
			if (ptab_add(&r->by_ip6, p) != 0)
				log_warnx("%s: out of memory; PTR of %s may "
				    "be missing", __func__, p->key);
			return;
		}
		for (pp = &head->ip6_next; *pp != NULL; pp = &(*pp)->ip6_next)
			;
		*pp = p;
		return;
	}
	if (head == p) {
		ptab_remove(&r->by_ip6, p);
		if (p->ip6_next != NULL)
			(void)ptab_add(&r->by_ip6, p->ip6_next);
	} else if (head != NULL) {
		for (pp = &head->ip6_next; *pp != NULL; pp = &(*pp)->ip6_next)
			if (*pp == p) {
				*pp = p->ip6_next;
				break;
			}
	}
	p->ip6_next = NULL;
}

static void
pod_track_ip(struct registry *r, struct pod *p, bool add)
{
	pod_track_ip4(r, p, add);
	pod_track_ip6(r, p, add);
}

/*
 * Makes *rdp hold room for n endpoints. Returns it, or the array as it
 * was (maybe NULL) on OOM, logged: it then keeps what fits.
 */
static struct svc_ready *
svc_ready_reserve(struct service *s, struct svc_ready **rdp, size_t n)
{
	struct svc_ready *rd = *rdp;

	if (rd != NULL && rd->cap >= n)
		return rd;
	if ((rd = realloc(*rdp, sizeof(*rd) + n * sizeof(rd->v[0]))) ==
	    NULL) {
		log_warnx("%s: %s: out of memory; endpoints left out",
		    __func__, s->key);
		return *rdp;
	}
	rd->cap = (uint32_t)n;
	*rdp = rd;
	return rd;
}

/*
 * Rebuilds the ready endpoints of each port of s from its members: ready,
 * with an address, and the port's targetPort resolved; one array per
 * family the service has. Runs before every event that tells of a change
 * to them, so subscribers read them current. On OOM a port keeps the
 * endpoints that fit (logged).
 */
static void
svc_ready_rebuild(struct service *s)
{
	struct svc_port *sp;
	struct svc_ready *rd, *rd6;
	struct svc_endpoint *e;
	struct pod *p;
	size_t i, k;
	uint16_t tp;
	bool want6 = service_has_family(s, IP_FAMILY_V6);

	for (k = 0; k < s->nports; k++) {
		sp = &s->ports[k];
		if (s->nmembers == 0 || !want6) {
			free(sp->ready6);
			sp->ready6 = NULL;
		}
		if (s->nmembers == 0) {
			free(sp->ready);
			sp->ready = NULL;
			continue;
		}
		rd = svc_ready_reserve(s, &sp->ready, s->nmembers);
		rd6 = want6 ? svc_ready_reserve(s, &sp->ready6, s->nmembers) :
		    NULL;
		if (rd != NULL)
			rd->n = 0;
		if (rd6 != NULL)
			rd6->n = 0;
		for (i = 0; i < s->nmembers; i++) {
			p = s->members[i];
			/* No address yet (status.podIP absent): not routable. */
			if (!pod_ready(p) || (tp = pod_target_port(p, sp)) == 0)
				continue;
			if (rd != NULL && p->ip.s_addr != 0 &&
			    rd->n < rd->cap) {
				e = &rd->v[rd->n++];
				e->pod = p;
				e->uid = p->uid;
				e->ip = p->ip;
				e->port = tp;
			}
			if (rd6 != NULL && !in6_is_unset(&p->ip6) &&
			    rd6->n < rd6->cap) {
				e = &rd6->v[rd6->n++];
				e->pod = p;
				e->uid = p->uid;
				e->ip6 = p->ip6;
				e->port = tp;
			}
		}
	}
}

/*
 * Moves the spec of s into old, which keeps its identity: its address,
 * uid, creation time and member arrays. s is left holding the former
 * spec, for the caller to free. Neither may be in an index.
 */
static void
svc_take_spec(struct service *old, struct service *s)
{
	struct service tmp = *old;

	*old = *s;
	*s = tmp;
	old->uid = s->uid;
	old->created = s->created;
	old->members = s->members;
	old->nmembers = s->nmembers;
	old->members_cap = s->members_cap;
	s->members = NULL;
	s->nmembers = s->members_cap = 0;
}

/* The same for pods: identity, member_of arrays and creation time stay. */
static void
pod_take_spec(struct pod *old, struct pod *p)
{
	struct pod tmp = *old;

	*old = *p;
	*p = tmp;
	old->uid = p->uid;
	old->created = p->created;
	old->member_of = p->member_of;
	old->nmember_of = p->nmember_of;
	old->member_of_cap = p->member_of_cap;
	old->ip_next = p->ip_next = NULL;
	old->ip6_next = p->ip6_next = NULL;
	p->member_of = NULL;
	p->nmember_of = p->member_of_cap = 0;
}

/* Unlinks and frees a service, telling subscribers; release its VIP. */
static void
svc_remove(struct registry *r, struct service *s, bool release_vip)
{
	while (s->nmembers > 0)
		member_unlink(s, s->members[s->nmembers - 1]);
	svc_index(r, s, false);
	svc_track_vip(r, s, false);
	svc_track_owner(r, s, false);
	ptab_remove(&r->svcs, s);
	ns_ref(r, s->ns, -1);
	if (release_vip && r->vips && s->vip.s_addr != 0)
		vip_release(r->vips, s->key);
	if (release_vip && r->vips && !in6_is_unset(&s->ext->vip6))
		vip_release6(r->vips, s->key);
	publish(r, REG_SVC_REMOVED, s, NULL);
	service_free(s);
}

static void
pod_remove(struct registry *r, struct pod *p)
{
	struct service *s;

	while (p->nmember_of > 0) {
		s = p->member_of[p->nmember_of - 1];
		member_unlink(s, p);
		svc_ready_rebuild(s);
		publish(r, REG_ENDPOINTS_CHANGED, s, NULL);
	}
	pod_index(r, p, false);
	pod_track_owner(r, p, false);
	pod_track_ip(r, p, false);
	ptab_remove(&r->pods, p);
	ns_ref(r, p->ns, -1);
	publish(r, REG_POD_REMOVED, NULL, p);
	pod_free(p);
}

/*
 * Files s, a new service, or when old is given, moves s's spec into old,
 * which keeps its identity (s is freed). Tells subscribers.
 */
static void
svc_insert(struct registry *r, struct service *s, struct service *old)
{
	bool had_members = old && old->nmembers > 0;

	if (!s->algo_explicit)
		s->algo = r->default_algo;
	if (old != NULL) {
		while (old->nmembers > 0)
			member_unlink(old, old->members[old->nmembers - 1]);
		svc_index(r, old, false);
		svc_track_vip(r, old, false);
		svc_track_owner(r, old, false);
		ns_ref(r, old->ns, -1);
		ptab_remove(&r->svcs, old);
		svc_take_spec(old, s);
		service_free(s);
		s = old;
	} else {
		s->uid = ++r->last_uid;
		s->created = time(NULL);
	}
	(void)ptab_add(&r->svcs, s);
	ns_ref(r, s->ns, 1);
	svc_index(r, s, true);
	svc_track_vip(r, s, true);
	svc_track_owner(r, s, true);
	svc_attach_pods(r, s);
	svc_ready_rebuild(s);
	publish(r, old ? REG_SVC_CHANGED : REG_SVC_ADDED, s, NULL);
	if (s->nmembers > 0 || had_members)
		publish(r, REG_ENDPOINTS_CHANGED, s, NULL);
}

/*
 * Files p, a new pod, or when old is given, moves p's spec into old,
 * which keeps its identity (p is freed). Tells subscribers.
 */
static void
pod_insert(struct registry *r, struct pod *p, struct pod *old)
{
	struct plist touched = { 0 };
	size_t i;
	bool changed = old != NULL;

	if (p->probe.kind != PROBE_NONE)
		p->probe_ok = old != NULL && probe_equal(&old->probe,
		    &p->probe) ? old->probe_ok : false;
	if (old != NULL) {
		while (old->nmember_of > 0) {
			struct service *s = old->member_of[old->nmember_of - 1];
			member_unlink(s, old);
			plist_add(&touched, s);
		}
		pod_index(r, old, false);
		pod_track_owner(r, old, false);
		pod_track_ip(r, old, false);
		ns_ref(r, old->ns, -1);
		ptab_remove(&r->pods, old);
		pod_take_spec(old, p);
		pod_free(p);
		p = old;
	} else {
		p->uid = ++r->last_uid;
		p->created = time(NULL);
	}
	(void)ptab_add(&r->pods, p);
	ns_ref(r, p->ns, 1);
	pod_index(r, p, true);
	pod_track_owner(r, p, true);
	pod_track_ip(r, p, true);
	pod_attach_services(r, p);
	/* Every ready array is current before anyone hears of the pod. */
	for (i = 0; i < p->nmember_of; i++) {
		plist_remove(&touched, p->member_of[i]);
		svc_ready_rebuild(p->member_of[i]);
	}
	for (i = 0; i < touched.n; i++)
		svc_ready_rebuild(touched.v[i]);
	publish(r, changed ? REG_POD_CHANGED : REG_POD_ADDED, NULL, p);
	for (i = 0; i < p->nmember_of; i++)
		publish(r, REG_ENDPOINTS_CHANGED, p->member_of[i], NULL);
	for (i = 0; i < touched.n; i++)
		publish(r, REG_ENDPOINTS_CHANGED, touched.v[i], NULL);
	free(touched.v);
}

/* --- apply ------------------------------------------------------------ */

/*
 * "src:line:column: " for an object of set with a manifest position,
 * else "": refusals of a file name where the object is.
 */
static const char *
set_where(const struct objset *set, uint32_t line, uint32_t col, char *buf,
    size_t len)
{
	buf[0] = '\0';
	if (set->src != NULL && line != 0)
		snprintf(buf, len, "%s:%u:%u: ", set->src, line, col);
	return buf;
}

/* Adds the ports of an Endpoints subset to p, each (name, port, proto) once. */
static int
endpoint_add_ports(struct pod *p, const struct endpoints *e)
{
	struct pod_port *np;
	size_t i, k;

	if (e->nports == 0)
		return 0;
	if ((np = reallocarray(p->ports, p->nports + e->nports,
	    sizeof(*np))) == NULL)
		return ERR_NOMEM;
	p->ports = np;
	for (k = 0; k < e->nports; k++) {
		for (i = 0; i < p->nports; i++)
			if (streq_null(p->ports[i].name, e->ports[k].name) &&
			    p->ports[i].port == e->ports[k].port &&
			    p->ports[i].proto == e->ports[k].proto)
				break;
		if (i < p->nports)
			continue;
		p->ports[p->nports] = e->ports[k];
		if (e->ports[k].name != NULL &&
		    (p->ports[p->nports].name = strdup(e->ports[k].name)) ==
		    NULL)
			return ERR_NOMEM;
		p->nports++;
	}
	return 0;
}

/*
 * Turns each Endpoints object into pods named "<name>-a-b-c-d", one per
 * address: an address in several subsets (other ports) is one pod with
 * all their ports. An object given twice (its first subset seen twice)
 * is refused.
 */
static int
expand_endpoints(struct objset *set, char *err, size_t errlen)
{
	struct hmap *made = NULL;	/* pod key -> pod, of this call */
	struct hmap *objs = NULL;	/* "ns/name" -> first subset */
	char key[512], name[300], pkey[600], at[600];
	const struct endpoints *first;
	struct pod *p;
	size_t i, j;
	int rc = ERR_NOMEM;

	if (set->neps == 0)
		return 0;
	if ((made = hmap_new()) == NULL || (objs = hmap_new()) == NULL)
		goto nomem;
	for (i = 0; i < set->neps; i++) {
		struct endpoints *e = set->eps[i];
		snprintf(key, sizeof(key), "%s/%s", e->ns, e->name);
		if (e->subset == 0) {
			if ((first = hmap_get(objs, key)) != NULL) {
				set_where(set, e->line, e->col, at, sizeof(at));
				errf(err, errlen, "%sendpoints %s are defined "
				    "twice (first at line %u)", at, key,
				    first->line);
				rc = ERR_INVAL;
				goto out;
			}
			if (hmap_put(objs, key, e, NULL) != 0)
				goto nomem;
		}
		for (j = 0; j < e->naddrs; j++) {
			const struct ep_address *ea = &e->addrs[j];
			uint32_t a = ntohl(ea->ip.s_addr);
			char d6[INET6_ADDRSTRLEN];
			if (a == 0)
				snprintf(name, sizeof(name), "%s-%s", e->name,
				    in6_dashed(&ea->ip6, d6, sizeof(d6)));
			else
				snprintf(name, sizeof(name), "%s-%u-%u-%u-%u",
				    e->name, a >> 24, (a >> 16) & 255,
				    (a >> 8) & 255, a & 255);
			snprintf(pkey, sizeof(pkey), "%s/%s", e->ns, name);
			/* A pod name of another object: refused later. */
			if ((p = hmap_get(made, pkey)) != NULL &&
			    strcmp(p->endpoints_of, key) != 0)
				p = NULL;
			if (p == NULL) {
				if ((p = pod_new()) == NULL)
					goto nomem;
				p->ip = ea->ip;
				p->ip6 = ea->ip6;
				p->ip6_primary = a == 0;
				p->line = e->line;
				p->col = e->col;
				if (pod_set_name(p, e->ns, name) != 0 ||
				    (p->endpoints_of = strdup(key)) == NULL ||
				    objset_add_pod(set, p) != 0) {
					pod_free(p);
					goto nomem;
				}
				if (hmap_get(made, pkey) == NULL &&
				    hmap_put(made, pkey, p, NULL) != 0)
					goto nomem;
			}
			if (ea->not_ready)
				p->declared_ready = false;
			if (p->hostname == NULL && ea->hostname != NULL &&
			    (p->hostname = strdup(ea->hostname)) == NULL)
				goto nomem;
			if (endpoint_add_ports(p, e) != 0)
				goto nomem;
		}
	}
	rc = 0;
	goto out;
nomem:
	errf(err, errlen, "out of memory");
out:
	hmap_free(made, NULL);
	hmap_free(objs, NULL);
	return rc;
}

/*
 * Refuses a set naming one object twice or another owner's object.
 * Leaves the set's services and pods indexed by key in ks and kp, the
 * registry's service of each set service's key in olds (or NULL), and
 * counts those not in the registry yet in nnew[0] and nnew[1].
 */
static int
apply_check_owners(struct registry *r, const struct owner *o,
    struct objset *set, struct ptab *ks, struct ptab *kp,
    struct service **olds, size_t nnew[2], char *err, size_t errlen)
{
	char who[300], at[600];
	size_t i;

	if (ptab_reserve(ks, set->nsvcs) != 0 ||
	    ptab_reserve(kp, set->npods) != 0) {
		errf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	for (i = 0; i < set->nsvcs; i++) {
		struct service *s = set->svcs[i], *old, *first;
		if ((first = ptab_find(ks, svc_hash(s), svc_match,
		    s->key)) != NULL) {
			set_where(set, s->line, s->col, at, sizeof(at));
			if (first->line != 0)
				errf(err, errlen, "%sservice %s is defined "
				    "twice (first at line %u)", at, s->key,
				    first->line);
			else
				errf(err, errlen, "%sservice %s is defined "
				    "twice", at, s->key);
			return ERR_INVAL;
		}
		if (ptab_add(ks, s) != 0) {
			errf(err, errlen, "out of memory");
			return ERR_NOMEM;
		}
		if ((old = olds[i] = svc_get(r, s->key)) == NULL)
			nnew[0]++;
		else if (!owner_equal(&old->owner, o)) {
			errf(err, errlen, "%sservice %s is owned by %s",
			    set_where(set, s->line, s->col, at, sizeof(at)),
			    s->key, owner_describe(&old->owner, who,
			    sizeof(who)));
			return ERR_CONFLICT;
		}
	}
	for (i = 0; i < set->npods; i++) {
		struct pod *p = set->pods[i], *old, *first;
		if ((first = ptab_find(kp, pod_hash(p), pod_match,
		    p->key)) != NULL) {
			set_where(set, p->line, p->col, at, sizeof(at));
			if (first->line != 0)
				errf(err, errlen, "%spod %s is defined twice "
				    "(first at line %u)", at, p->key,
				    first->line);
			else
				errf(err, errlen, "%spod %s is defined twice",
				    at, p->key);
			return ERR_INVAL;
		}
		if (ptab_add(kp, p) != 0) {
			errf(err, errlen, "out of memory");
			return ERR_NOMEM;
		}
		if ((old = pod_get(r, p->key)) == NULL)
			nnew[1]++;
		else if (!owner_equal(&old->owner, o)) {
			errf(err, errlen, "%spod %s is owned by %s",
			    set_where(set, p->line, p->col, at, sizeof(at)),
			    p->key, owner_describe(&old->owner, who,
			    sizeof(who)));
			return ERR_CONFLICT;
		}
	}
	return 0;
}

/*
 * The families the daemon has VIP ranges for, primary first; both
 * without a pool (tests), so requested addresses of either family stay.
 */
static size_t
registry_families(const struct registry *r, enum ip_family out[2])
{
	int af[2];
	size_t i, n;

	out[0] = IP_FAMILY_V4;
	out[1] = IP_FAMILY_V6;
	if (r->vips == NULL)
		return 2;
	n = vip_families(r->vips, af);
	for (i = 0; i < n; i++)
		out[i] = af[i] == AF_INET6 ? IP_FAMILY_V6 : IP_FAMILY_V4;
	return n;
}

/* Settles every service's IP family policy and families. */
static int
apply_families(struct registry *r, struct objset *set, char *err,
    size_t errlen)
{
	enum ip_family cluster[2];
	size_t ncluster = registry_families(r, cluster), i, n;
	char e2[256], at[600];
	int rc;

	for (i = 0; i < set->nsvcs; i++) {
		struct service *s = set->svcs[i];
		n = ncluster;
		/*
		 * Another host's, with a VIP of a family this host has no
		 * range for: that family too, its VIP as it is.
		 */
		if (set->published && n == 1 && (cluster[0] == IP_FAMILY_V4 ?
		    !in6_is_unset(&s->ext->requested_vip6) :
		    s->ext->requested_vip.s_addr != 0)) {
			cluster[1] = cluster[0] == IP_FAMILY_V4 ?
			    IP_FAMILY_V6 : IP_FAMILY_V4;
			n = 2;
		}
		rc = service_ip_families(s, cluster, n, &s->policy,
		    s->families, &s->nfamilies, e2, sizeof(e2));
		if (rc != 0) {
			set_where(set, s->line, s->col, at, sizeof(at));
			errf(err, errlen, "%sservice %s: %s", at, s->key, e2);
			return rc;
		}
	}
	return 0;
}

struct vip_undo {
	char		*key;
	struct in_addr	 prev;	/* 0: had none in use */
	struct in6_addr	 prev6;	/* ::: had none in use */
	bool		 v6;	/* the entry is of the IPv6 range */
};

/*
 * Sets s's IPv6 VIP; :: needs no extension of its own. Returns 0 or
 * ERR_NOMEM.
 */
static int
svc_set_vip6(struct service *s, const struct in6_addr *a)
{
	struct service_ext *x;

	if (in6_is_unset(a) && in6_is_unset(&s->ext->vip6))
		return 0;
	if ((x = service_ext_mut(s)) == NULL)
		return ERR_NOMEM;
	x->vip6 = *a;
	return 0;
}

/*
 * Gives s its IPv6 VIP: the old one when the request allows, else from
 * the pool. Records what to undo.
 */
static int
apply_vip6(struct registry *r, const struct objset *set, struct service *s,
    const struct service *old, struct vip_undo *undo, size_t *nundo,
    char *err, size_t errlen)
{
	char e2[256], a[INET6_ADDRSTRLEN], at[600];
	struct in6_addr got;
	int rc;

	if (old && !in6_is_unset(&old->ext->vip6) &&
	    (in6_is_unset(&s->ext->requested_vip6) ||
	    memcmp(&s->ext->requested_vip6, &old->ext->vip6, sizeof(got)) == 0)) {
		if (svc_set_vip6(s, &old->ext->vip6) != 0) {
			errf(err, errlen, "out of memory");
			return ERR_NOMEM;
		}
		return 0;
	}
	if (set->published && !in6_is_unset(&s->ext->requested_vip6) &&
	    (vip_range6(r->vips) == NULL ||
	    !vip_in_range6(r->vips, &s->ext->requested_vip6))) {
		/* Another host's, outside this one's range: as it is. */
		struct in6_addr req = s->ext->requested_vip6;

		if (old && !in6_is_unset(&old->ext->vip6) &&
		    vip_in_range6(r->vips, &old->ext->vip6)) {
			undo[*nundo].key = s->key;
			undo[*nundo].v6 = true;
			undo[*nundo].prev6 = old->ext->vip6;
			(*nundo)++;
			vip_release6(r->vips, s->key);
		}
		if (svc_set_vip6(s, &req) != 0) {
			errf(err, errlen, "out of memory");
			return ERR_NOMEM;
		}
		return 0;
	}
	undo[*nundo].key = s->key;
	undo[*nundo].v6 = true;
	memset(&undo[*nundo].prev6, 0, sizeof(got));
	if (old)
		undo[*nundo].prev6 = old->ext->vip6;
	rc = vip_alloc6(r->vips, s->key, &s->ext->requested_vip6, &got, e2,
	    sizeof(e2));
	if (rc != 0) {
		set_where(set, s->line, s->col, at, sizeof(at));
		if (!in6_is_unset(&s->ext->requested_vip6))
			errf(err, errlen, "%sservice %s: clusterIP %s: %s", at,
			    s->key, inet_ntop(AF_INET6, &s->ext->requested_vip6, a,
			    sizeof(a)), e2);
		else
			errf(err, errlen, "%sservice %s: %s", at, s->key, e2);
		return rc;
	}
	(*nundo)++;
	if (svc_set_vip6(s, &got) != 0) {
		errf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	return 0;
}

/*
 * Gives every ClusterIP service of the set its VIP. On failure the
 * allocations made here are undone.
 */
static int
apply_vips(struct registry *r, struct objset *set, struct service **olds,
    size_t nnew, char *err, size_t errlen)
{
	struct vip_undo *undo;
	size_t i, nundo = 0;
	char e2[256], a[INET_ADDRSTRLEN], at[600];
	int rc = 0;

	if ((undo = calloc(2 * set->nsvcs + 1, sizeof(*undo))) == NULL)
		return ERR_NOMEM;
	/* Room at once: a first load allocates every key. */
	if (r->vips != NULL && nnew > 64)
		(void)vip_reserve(r->vips, nnew);
	for (i = 0; i < set->nsvcs; i++) {
		struct service *s = set->svcs[i];
		struct service *old = olds[i];
		struct in_addr got = { 0 };

		if (s->type != SVC_CLUSTERIP)
			continue;
		if (r->vips == NULL) {
			if (service_has_family(s, IP_FAMILY_V4))
				s->vip = s->ext->requested_vip;
			if (service_has_family(s, IP_FAMILY_V6) &&
			    (rc = svc_set_vip6(s,
			    &s->ext->requested_vip6)) != 0) {
				errf(err, errlen, "out of memory");
				break;
			}
			continue;
		}
		if (service_has_family(s, IP_FAMILY_V6) &&
		    (rc = apply_vip6(r, set, s, old, undo, &nundo, err,
		    errlen)) != 0)
			break;
		if (!service_has_family(s, IP_FAMILY_V4))
			continue;
		if (old && old->vip.s_addr != 0 &&
		    (s->ext->requested_vip.s_addr == 0 ||
		    s->ext->requested_vip.s_addr == old->vip.s_addr)) {
			s->vip = old->vip;
			continue;
		}
		if (set->published && s->ext->requested_vip.s_addr != 0 &&
		    (vip_range(r->vips) == NULL ||
		    !vip_in_range(r->vips, s->ext->requested_vip))) {
			/* Another host's, outside this one's range. */
			if (old && old->vip.s_addr != 0 &&
			    vip_in_range(r->vips, old->vip)) {
				undo[nundo].key = s->key;
				undo[nundo].prev = old->vip;
				undo[nundo].v6 = false;
				nundo++;
				vip_release(r->vips, s->key);
			}
			s->vip = s->ext->requested_vip;
			continue;
		}
		undo[nundo].key = s->key;
		undo[nundo].prev = old ? old->vip : got;
		undo[nundo].v6 = false;
		nundo++;
		rc = vip_alloc(r->vips, s->key, s->ext->requested_vip, &got, e2,
		    sizeof(e2));
		if (rc != 0) {
			set_where(set, s->line, s->col, at, sizeof(at));
			if (s->ext->requested_vip.s_addr)
				errf(err, errlen, "%sservice %s: clusterIP "
				    "%s: %s", at, s->key,
				    inet4_str(s->ext->requested_vip, a), e2);
			else
				errf(err, errlen, "%sservice %s: %s", at,
				    s->key, e2);
			nundo--;
			break;
		}
		s->vip = got;
	}
	if (rc != 0) {
		while (nundo > 0) {
			struct vip_undo *u = &undo[--nundo];
			struct in_addr dummy;
			struct in6_addr dummy6;
			/* A published VIP outside the range held none. */
			if (u->v6 && !in6_is_unset(&u->prev6) &&
			    vip_in_range6(r->vips, &u->prev6))
				vip_alloc6(r->vips, u->key, &u->prev6, &dummy6,
				    NULL, 0);
			else if (u->v6)
				vip_release6(r->vips, u->key);
			else if (u->prev.s_addr != 0 &&
			    vip_in_range(r->vips, u->prev))
				vip_alloc(r->vips, u->key, u->prev, &dummy,
				    NULL, 0);
			else
				vip_release(r->vips, u->key);
		}
		for (i = 0; i < set->nsvcs; i++) {
			set->svcs[i]->vip.s_addr = 0;
			(void)svc_set_vip6(set->svcs[i], &in6addr_any);
		}
	}
	free(undo);
	return rc;
}

/*
 * Objects share their owner's id string, kept by the owner's entry for
 * the registry's lifetime (service_free and pod_free leave it alone).
 */
static void
set_owner(struct owner *dst, const struct owned *ow, const struct owner *o)
{
	dst->kind = o->kind;
	dst->id = ow->id;
}

int
registry_apply(struct registry *r, const struct owner *o, struct objset *set,
    enum registry_apply_mode mode, char *err, size_t errlen)
{
	struct ptab ks, kp;	/* the set's services and pods by key */
	size_t nnew[2] = { 0, 0 };	/* of them, not in the registry */
	struct service **olds;		/* registry's, by index in the set */
	struct owned *ow, *own;
	size_t pos;
	void *v;
	size_t i;
	int rc;

	ptab_init(&ks, svc_hash);
	ptab_init(&kp, pod_hash);
	if ((rc = expand_endpoints(set, err, errlen)) != 0)
		return rc;
	if ((olds = calloc(set->nsvcs + 1, sizeof(*olds))) == NULL) {
		errf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	/* Expanded pods are dropped again if the apply is refused. */
	if ((rc = apply_check_owners(r, o, set, &ks, &kp, olds, nnew, err,
	    errlen)) != 0)
		goto refused;
	if ((own = owned_get(r, o, true)) == NULL) {
		errf(err, errlen, "out of memory");
		rc = ERR_NOMEM;
		goto refused;
	}
	if ((rc = apply_families(r, set, err, errlen)) != 0 ||
	    (rc = apply_vips(r, set, olds, nnew[0], err, errlen)) != 0)
		goto refused;

	/*
	 * Commit: nothing below refuses. Room in the tables for the whole
	 * set, so a large first load does not rehash them again and again
	 * (on OOM they still grow one by one).
	 */
	ow = own;
	if (nnew[0] > 64)
		(void)(ptab_reserve(&r->svcs, nnew[0]) ||
		    ptab_reserve(&r->by_vip, nnew[0]) ||
		    ptab_reserve(&own->svcs, nnew[0]));
	if (nnew[1] > 64)
		(void)(ptab_reserve(&r->pods, nnew[1]) ||
		    ptab_reserve(&own->pods, nnew[1]));
	if (mode == REGISTRY_REPLACE) {
		struct plist gone = { 0 };
		for (pos = 0; (v = ptab_next(&ow->svcs, &pos)) != NULL; )
			if (ptab_find(&ks, svc_hash(v), svc_match,
			    ((struct service *)v)->key) == NULL)
				plist_add(&gone, v);
		for (i = 0; i < gone.n; i++)
			svc_remove(r, gone.v[i], true);
		free(gone.v);
	}
	{
		struct plist gone = { 0 };
		for (pos = 0; (v = ptab_next(&ow->pods, &pos)) != NULL; ) {
			struct pod *p = v;
			bool stale_ep = false;
			size_t j;
			if (ptab_find(&kp, pod_hash(p), pod_match,
			    p->key) != NULL)
				continue;
			/* A re-applied Endpoints object replaces its pods. */
			for (j = 0; p->endpoints_of && j < set->neps; j++) {
				char k[600];
				snprintf(k, sizeof(k), "%s/%s",
				    set->eps[j]->ns, set->eps[j]->name);
				if (strcmp(k, p->endpoints_of) == 0)
					stale_ep = true;
			}
			if (mode == REGISTRY_REPLACE || stale_ep)
				plist_add(&gone, p);
		}
		for (i = 0; i < gone.n; i++)
			pod_remove(r, gone.v[i]);
		free(gone.v);
	}
	ptab_clear(&ks);
	ptab_clear(&kp);

	for (i = 0; i < set->nsvcs; i++) {
		struct service *s = set->svcs[i];
		struct service *old = olds[i];
		set_owner(&s->owner, own, o);
		if (old && service_spec_equal(old, s) &&
		    old->vip.s_addr == s->vip.s_addr &&
		    memcmp(&old->ext->vip6, &s->ext->vip6, sizeof(s->ext->vip6)) == 0 &&
		    old->policy == s->policy &&
		    old->nfamilies == s->nfamilies &&
		    memcmp(old->families, s->families,
		    s->nfamilies * sizeof(s->families[0])) == 0) {
			service_free(s);
			continue;
		}
		if (old && old->vip.s_addr != s->vip.s_addr &&
		    old->vip.s_addr != 0 && s->vip.s_addr == 0 && r->vips)
			vip_release(r->vips, old->key);
		if (old && !in6_is_unset(&old->ext->vip6) &&
		    in6_is_unset(&s->ext->vip6) && r->vips)
			vip_release6(r->vips, old->key);
		svc_insert(r, s, old);
	}
	for (i = 0; i < set->npods; i++) {
		struct pod *p = set->pods[i];
		struct pod *old = pod_get(r, p->key);
		set_owner(&p->owner, own, o);
		if (old && pod_spec_equal(old, p)) {
			pod_free(p);
			continue;
		}
		pod_insert(r, p, old);
	}
	set->nsvcs = set->npods = 0;
	objset_clear(set);
	owned_maybe_free(r, own);
	free(olds);
	if (r->vips)
		vip_save(r->vips);
	return 0;

refused:
	ptab_clear(&ks);
	ptab_clear(&kp);
	free(olds);
	return rc;
}

void
registry_remove_owner(struct registry *r, const struct owner *o)
{
	struct objset empty = { 0 };

	registry_apply(r, o, &empty, REGISTRY_REPLACE, NULL, 0);
}

size_t
registry_endpoints_pods(const struct registry *r, const char *svc_key,
    struct pod *const **pods)
{
	struct ilist *l;
	char *k;

	*pods = NULL;
	if ((k = ep_key(svc_key)) == NULL)
		return 0;
	l = hmap_get(r->pod_index, k);
	free(k);
	if (l == NULL)
		return 0;
	*pods = (struct pod *const *)l->v;
	return l->n;
}

/* registry_delete of an Endpoints object: who's pods of it. */
static int
endpoints_delete(struct registry *r, const char *key,
    const struct owner *who, char *err, size_t errlen)
{
	struct pod *const *v;
	struct plist gone = { 0 };
	struct owned *held = NULL;
	size_t i, n;

	n = registry_endpoints_pods(r, key, &v);
	for (i = 0; i < n; i++)
		if (who == NULL || owner_equal(&v[i]->owner, who))
			plist_add(&gone, v[i]);
	if (gone.n == 0) {
		free(gone.v);
		errf(err, errlen, "endpoints %s not found", key);
		return ERR_NOTFOUND;
	}
	/* Removing empties the index list v points into: copied first. */
	for (i = 0; i < gone.n; i++) {
		struct pod *p = gone.v[i];
		held = owned_get(r, &p->owner, false);
		pod_remove(r, p);
		if (held != NULL)
			owned_maybe_free(r, held);
	}
	free(gone.v);
	return 0;
}

int
registry_delete(struct registry *r, enum registry_kind kind, const char *ns,
    const char *name, const struct owner *who, char *err, size_t errlen)
{
	struct owned *held;
	const struct owner *ow;
	char key[600], desc[300];
	struct service *s = NULL;
	struct pod *p = NULL;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	if (kind == REGISTRY_ENDPOINTS)
		return endpoints_delete(r, key, who, err, errlen);
	if (kind == REGISTRY_SERVICE)
		s = svc_get(r, key);
	else
		p = pod_get(r, key);
	if (s == NULL && p == NULL) {
		errf(err, errlen, "%s %s not found",
		    kind == REGISTRY_SERVICE ? "service" : "pod", key);
		return ERR_NOTFOUND;
	}
	ow = s ? &s->owner : &p->owner;
	if (who != NULL && !owner_equal(ow, who)) {
		errf(err, errlen, "%s %s is owned by %s",
		    kind == REGISTRY_SERVICE ? "service" : "pod", key,
		    owner_describe(ow, desc, sizeof(desc)));
		return ERR_CONFLICT;
	}
	held = owned_get(r, ow, false);
	if (s != NULL) {
		svc_remove(r, s, true);
		if (r->vips)
			vip_save(r->vips);
	} else
		pod_remove(r, p);
	if (held != NULL)
		owned_maybe_free(r, held);
	return 0;
}

int
registry_set_probe_result(struct registry *r, const char *pod_key, bool ok)
{
	struct pod *p = pod_get(r, pod_key);
	size_t i;

	if (p == NULL)
		return ERR_NOTFOUND;
	if (p->probe_ok == ok)
		return 0;
	p->probe_ok = ok;
	for (i = 0; i < p->nmember_of; i++)
		svc_ready_rebuild(p->member_of[i]);
	publish(r, REG_POD_CHANGED, NULL, p);
	for (i = 0; i < p->nmember_of; i++)
		publish(r, REG_ENDPOINTS_CHANGED, p->member_of[i], NULL);
	return 0;
}

/* --- lookups ---------------------------------------------------------- */

struct service *
registry_find_service(const struct registry *r, const char *ns,
    const char *name)
{
	char key[600];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	return svc_get(r, key);
}

struct service *
registry_find_service_key(const struct registry *r, const char *key)
{
	return svc_get(r, key);
}

struct service *
registry_find_service_by_vip(const struct registry *r, struct in_addr vip)
{
	return ptab_find(&r->by_vip, ptab_hash_u64(vip.s_addr), vip_match,
	    &vip);
}

struct pod *
registry_find_pod(const struct registry *r, const char *ns, const char *name)
{
	char key[600];

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	return pod_get(r, key);
}

struct pod *
registry_find_pod_key(const struct registry *r, const char *key)
{
	return pod_get(r, key);
}

struct service *
registry_find_service_by_vip6(const struct registry *r,
    const struct in6_addr *vip)
{
	if (in6_is_unset(vip))
		return NULL;
	return ptab_find(&r->by_vip6, in6_hash(vip), vip6_match, vip);
}

struct pod *
registry_find_pod_by_ip6(const struct registry *r, const struct in6_addr *ip)
{
	if (in6_is_unset(ip))
		return NULL;
	return ptab_find(&r->by_ip6, in6_hash(ip), ip6_match, ip);
}

struct pod *
registry_find_pod_by_ip(const struct registry *r, struct in_addr ip)
{
	if (ip.s_addr == 0)
		return NULL;
	return ptab_find(&r->by_ip, ptab_hash_u64(ip.s_addr), ip_match, &ip);
}

bool
registry_namespace_exists(const struct registry *r, const char *ns)
{
	return hmap_get(r->namespaces, ns) != NULL;
}

size_t
registry_count_services(const struct registry *r)
{
	return r->svcs.count;
}

size_t
registry_count_pods(const struct registry *r)
{
	return r->pods.count;
}

size_t
service_ready_count(const struct service *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nmembers; i++)
		if (pod_ready(s->members[i]))
			n++;
	return n;
}

void
registry_foreach_service(const struct registry *r,
    void (*cb)(struct service *, void *), void *arg)
{
	struct service *s;
	size_t pos;

	for (pos = 0; (s = ptab_next(&r->svcs, &pos)) != NULL; )
		cb(s, arg);
}

void
registry_foreach_pod(const struct registry *r,
    void (*cb)(struct pod *, void *), void *arg)
{
	struct pod *p;
	size_t pos;

	for (pos = 0; (p = ptab_next(&r->pods, &pos)) != NULL; )
		cb(p, arg);
}

void
registry_foreach_owned(const struct registry *r, const struct owner *o,
    void (*svc_cb)(struct service *, void *),
    void (*pod_cb)(struct pod *, void *), void *arg)
{
	const struct owned *ow;
	struct service *s;
	struct pod *p;
	size_t pos;
	char *k;

	if ((k = owner_key(o)) == NULL)
		return;
	ow = hmap_get(r->owners, k);
	free(k);
	if (ow == NULL)
		return;
	for (pos = 0; svc_cb != NULL &&
	    (s = ptab_next(&ow->svcs, &pos)) != NULL; )
		svc_cb(s, arg);
	for (pos = 0; pod_cb != NULL &&
	    (p = ptab_next(&ow->pods, &pos)) != NULL; )
		pod_cb(p, arg);
}
