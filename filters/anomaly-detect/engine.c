/*
 * engine.c - windows, groups and alerts for anomaly-detect's rules.
 *
 * Per rule, groups live in a chained hash table (keyed by the group_by
 * values' text) threaded on a least-recently-seen list, which gives both
 * the eviction order and the order in which idle groups are found.  A
 * group's window is a ring of event times kept sorted (events arrive
 * nearly in order; a late one is shifted into place), so counting is
 * exact and costs no per-event allocation once the ring has grown.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "rfc3339.h"

#define MAX_IDS 10
#define ID_MAX 46		/* longer event ids are not kept in alert.events */

struct idslot {
	int64_t ts;
	uint8_t len;
	char s[ID_MAX + 1];
};

struct group {
	struct group *prev, *next;	/* least recently seen list: head newest */
	struct group *chain;		/* hash bucket */
	uint64_t hash;
	int64_t *ts;			/* ring, sorted; oldest at head */
	uint32_t n, cap, head;
	struct idslot *ids;		/* newest MAX_IDS ids, sorted by ts */
	uint8_t nids, idcap;
	bool emitted;
	int64_t newest;			/* newest event time counted, kept past firing */
	int64_t last_emit, seen;
	uint64_t suppressed;
	size_t klen;
	char key[];			/* the group_by values, as keyed */
};

struct rstate {
	struct group **bucket;
	size_t nbucket, ngroups;
	struct group *head, *tail;
	uint64_t alerts, suppressed, evictions;
};

/* The rule index: rules whose selection has a guard (select_guard())
 * are filed under each guard key, per field; an event meets only the
 * rules filed under its fields' values, and the rules without a guard. */
struct gentry {
	struct select_key key;
	uint64_t hash;
	uint32_t *rule;
	size_t n;
};

struct gfield {
	int slot;
	const struct select *sel;	/* one selection guarded on the slot */
	struct gentry *tab;		/* open addressing, power of two */
	size_t cap, used;
	uint32_t *rule;			/* every rule guarded on the slot */
	size_t n;
	size_t plen[16];		/* the lengths of its prefix keys */
	size_t nplen;
};

struct rindex {
	struct gfield *field;
	size_t nfield;
	bool *always;			/* per rule: no guard, always tried */
	uint32_t *mark;			/* per rule: the event it is a candidate for */
	size_t nmark;
	uint32_t gen;
	uint32_t *unguarded;		/* the rules always tried, in order */
	size_t nunguarded;
	uint32_t *cand;			/* this event's guarded candidates */
	size_t ncand;
};

struct engine {
	struct ruleset rs;
	struct rstate *st;		/* one per rule of rs */
	struct rindex ix;
	/* Without the index: every rule's where, tried together
	 * (select_match_all()), and the rules that matched. */
	const struct select **where;
	uint32_t *hit;
	size_t max_groups;
	uint64_t events, evictions_gone, alerts_gone, suppressed_gone;
	char *key;			/* group key scratch */
	size_t keycap;
	char *msg;			/* message scratch */
	size_t msgcap;
};

/* ---- groups ---- */

static void
group_free(struct group *g)
{
	free(g->ts);
	free(g->ids);
	free(g);
}

static void
lru_unlink(struct rstate *s, struct group *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		s->head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		s->tail = g->prev;
	g->prev = g->next = NULL;
}

static void
lru_front(struct rstate *s, struct group *g)
{
	g->prev = NULL;
	g->next = s->head;
	if (s->head)
		s->head->prev = g;
	s->head = g;
	if (s->tail == NULL)
		s->tail = g;
}

static void
remove_group(struct rstate *s, struct group *g)
{
	struct group **pp = &s->bucket[g->hash & (s->nbucket - 1)];
	while (*pp != g)
		pp = &(*pp)->chain;
	*pp = g->chain;
	lru_unlink(s, g);
	s->ngroups--;
	group_free(g);
}

static void
state_free(struct rstate *s)
{
	struct group *g = s->head;
	while (g != NULL) {
		struct group *next = g->next;
		group_free(g);
		g = next;
	}
	free(s->bucket);
	memset(s, 0, sizeof(*s));
}

static int
grow_buckets(struct rstate *s)
{
	size_t n = s->nbucket ? s->nbucket * 2 : 64;
	struct group **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -1;
	for (struct group *g = s->head; g != NULL; g = g->next) {
		g->chain = b[g->hash & (n - 1)];
		b[g->hash & (n - 1)] = g;
	}
	free(s->bucket);
	s->bucket = b;
	s->nbucket = n;
	return 0;
}

/* The group of key k, made if new (NULL when memory is short). */
static struct group *
group_get(struct engine *en, struct rstate *s, const char *k, size_t n, int64_t now)
{
	uint64_t h = hash64(k, n, 0x5eed);
	if (s->nbucket > 0)
		for (struct group *g = s->bucket[h & (s->nbucket - 1)]; g; g = g->chain)
			if (g->hash == h && g->klen == n && memcmp(g->key, k, n) == 0) {
				if (s->head != g) {
					lru_unlink(s, g);
					lru_front(s, g);
				}
				g->seen = now;
				return g;
			}
	if (s->ngroups >= en->max_groups && s->tail != NULL) {
		remove_group(s, s->tail);
		s->evictions++;
	}
	if (s->ngroups >= s->nbucket && grow_buckets(s) != 0)
		return NULL;
	/* malloc and memset, not calloc: glibc's calloc skips the per-thread
	 * cache, and groups come and go with every window. */
	struct group *g = malloc(sizeof(*g) + n);
	if (g == NULL)
		return NULL;
	memset(g, 0, sizeof(*g));
	g->hash = h;
	g->klen = n;
	memcpy(g->key, k, n);
	g->seen = now;
	g->newest = INT64_MIN;
	g->chain = s->bucket[h & (s->nbucket - 1)];
	s->bucket[h & (s->nbucket - 1)] = g;
	lru_front(s, g);
	s->ngroups++;
	return g;
}

/* ---- the window ring ---- */

static int64_t
ring_at(const struct group *g, uint32_t i)
{
	return g->ts[(g->head + i) & (g->cap - 1)];
}

static int
ring_insert(struct group *g, int64_t ts)
{
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 4;
		int64_t *t = malloc(cap * sizeof(*t));
		if (t == NULL)
			return -1;
		for (uint32_t i = 0; i < g->n; i++)
			t[i] = ring_at(g, i);
		free(g->ts);
		g->ts = t;
		g->cap = cap;
		g->head = 0;
	}
	uint32_t i = g->n++;
	/* Shift later stamps up by one: nothing to shift when in order. */
	while (i > 0 && ring_at(g, i - 1) > ts) {
		g->ts[(g->head + i) & (g->cap - 1)] = ring_at(g, i - 1);
		i--;
	}
	g->ts[(g->head + i) & (g->cap - 1)] = ts;
	return 0;
}

/* Drop what is at or before cutoff (out of the window). */
static void
ring_expire(struct group *g, int64_t cutoff)
{
	while (g->n > 0 && ring_at(g, 0) <= cutoff) {
		g->head = (g->head + 1) & (g->cap - 1);
		g->n--;
	}
	uint8_t keep = 0;
	for (uint8_t i = 0; i < g->nids; i++)
		if (g->ids[i].ts > cutoff)
			g->ids[keep++] = g->ids[i];
	g->nids = keep;
}

static void
ids_add(struct group *g, int64_t ts, const struct sval *id)
{
	if (id->type != '"' || id->len == 0 || id->len > ID_MAX)
		return;
	if (g->nids == g->idcap) {
		if (g->idcap == MAX_IDS) {
			/* Full: the oldest makes room, unless this one is older. */
			if (ts < g->ids[0].ts)
				return;
			memmove(g->ids, g->ids + 1, (MAX_IDS - 1) * sizeof(*g->ids));
			g->nids--;
		} else {
			uint8_t cap = g->idcap ? (uint8_t)(g->idcap * 2) : 1;
			if (cap > MAX_IDS)
				cap = MAX_IDS;
			struct idslot *s = realloc(g->ids, cap * sizeof(*s));
			if (s == NULL)
				return;
			g->ids = s;
			g->idcap = cap;
		}
	}
	uint8_t i = g->nids++;
	while (i > 0 && g->ids[i - 1].ts > ts) {
		g->ids[i] = g->ids[i - 1];
		i--;
	}
	g->ids[i].ts = ts;
	g->ids[i].len = (uint8_t)id->len;
	memcpy(g->ids[i].s, id->p, id->len);
}

/* ---- alerts ---- */

struct fire {
	const struct rule *r;
	const struct sval *vals;
	int64_t ts, first, last, count;
	uint64_t suppressed;
	const char *key;
	size_t klen;
	const struct idslot *ids;
	size_t nids;
	const struct sval *one_id;	/* match rules: the event's own id */
};

static void
put_value(struct jw *w, const struct sval *v)
{
	if (v->type == 0)
		jw_null(w);
	else if (v->type == '"')
		jw_str(w, v->p, v->len);
	else
		jw_raw(w, v->p, v->len);
}

static int
msg_grow(struct engine *en, size_t need)
{
	if (need <= en->msgcap)
		return 0;
	size_t cap = en->msgcap ? en->msgcap : 256;
	while (cap < need)
		cap *= 2;
	char *m = realloc(en->msg, cap);
	if (m == NULL)
		return -1;
	en->msg = m;
	en->msgcap = cap;
	return 0;
}

static size_t
render(struct engine *en, const struct fire *f)
{
	size_t len = 0;
	for (size_t i = 0; i < f->r->nmsg; i++) {
		const struct tmpl *t = &f->r->msg[i];
		char num[64];
		const char *s = num;
		size_t n = 0;
		switch (t->kind) {
		case T_LIT: s = t->lit; n = t->len; break;
		case T_FIELD:
			s = f->vals[t->slot].p;
			n = f->vals[t->slot].type ? f->vals[t->slot].len : 0;
			break;
		case T_COUNT: n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)f->count); break;
		case T_THRESHOLD: n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)f->r->threshold); break;
		case T_WINDOW: n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)(f->r->window_ms / 1000)); break;
		case T_SUPPRESSED: n = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)f->suppressed); break;
		case T_SEVERITY: s = severity_names[f->r->severity]; n = strlen(s); break;
		case T_RULE_ID: s = f->r->id; n = strlen(s); break;
		case T_RULE_NAME: s = f->r->name; n = strlen(s); break;
		case T_FIRST: rfc3339_format(f->first, num); n = RFC3339_LEN; break;
		case T_LAST: rfc3339_format(f->last, num); n = RFC3339_LEN; break;
		}
		if (n == 0)
			continue;
		if (msg_grow(en, len + n) != 0)
			break;
		memcpy(en->msg + len, s, n);
		len += n;
	}
	return len;
}

static void
write_alert(struct engine *en, const struct fire *f, struct jw *w)
{
	const struct rule *r = f->r;
	char ts[RFC3339_LEN], id[32];

	/* event.id: the same rule, group and window give the same id. */
	struct hash128 h = hash128_seed(0xa1e7);
	hash128_update(&h, r->id, strlen(r->id) + 1);
	hash128_update(&h, f->key, f->klen);
	hash128_u64(&h, (uint64_t)f->first);
	hash128_hex(h, f->klen, id);

	jw_obj_open(w);
	JW_KEY_LIT(w, "@timestamp");
	rfc3339_format(f->ts, ts);
	jw_str_plain(w, ts, RFC3339_LEN);
	JW_KEY_LIT(w, "event");
	jw_obj_open(w);
	JW_KEY_LIT(w, "kind");
	jw_str_plain(w, "alert", 5);
	JW_KEY_LIT(w, "id");
	jw_str_plain(w, id, 32);
	jw_obj_close(w);
	JW_KEY_LIT(w, "rule");
	jw_obj_open(w);
	JW_KEY_LIT(w, "id");
	jw_strz(w, r->id);
	JW_KEY_LIT(w, "name");
	jw_strz(w, r->name);
	JW_KEY_LIT(w, "type");
	jw_strz(w, rtype_names[r->type]);
	if (r->description) {
		JW_KEY_LIT(w, "description");
		jw_strz(w, r->description);
	}
	jw_obj_close(w);
	JW_KEY_LIT(w, "alert");
	jw_obj_open(w);
	JW_KEY_LIT(w, "severity");
	jw_strz(w, severity_names[r->severity]);
	JW_KEY_LIT(w, "status");
	jw_str_plain(w, "firing", 6);
	JW_KEY_LIT(w, "group");
	jw_obj_open(w);
	for (size_t i = 0; i < r->ngroup; i++) {
		jw_keyz(w, r->group_path[i]);
		put_value(w, &f->vals[r->group_slot[i]]);
	}
	jw_obj_close(w);
	JW_KEY_LIT(w, "count");
	jw_int(w, f->count);
	/* DESIGN's alert record has both for every rule: a match rule's
	 * threshold is 1 and its window 0 (each event fires alone). */
	JW_KEY_LIT(w, "threshold");
	jw_int(w, r->threshold);
	JW_KEY_LIT(w, "window_s");
	if (r->window_ms % 1000 == 0)
		jw_int(w, r->window_ms / 1000);
	else
		jw_double(w, (double)r->window_ms / 1000.0);
	JW_KEY_LIT(w, "first");
	rfc3339_format(f->first, ts);
	jw_str_plain(w, ts, RFC3339_LEN);
	JW_KEY_LIT(w, "last");
	rfc3339_format(f->last, ts);
	jw_str_plain(w, ts, RFC3339_LEN);
	JW_KEY_LIT(w, "suppressed");
	jw_int(w, (int64_t)f->suppressed);
	JW_KEY_LIT(w, "events");
	jw_arr_open(w);
	for (size_t i = 0; i < f->nids; i++)
		jw_str(w, f->ids[i].s, f->ids[i].len);
	if (f->one_id != NULL && f->one_id->type == '"')
		jw_str(w, f->one_id->p, f->one_id->len);
	jw_arr_close(w);
	jw_obj_close(w);
	if (r->ntags > 0) {
		JW_KEY_LIT(w, "tags");
		jw_arr_open(w);
		for (size_t i = 0; i < r->ntags; i++)
			jw_strz(w, r->tags[i]);
		jw_arr_close(w);
	}
	JW_KEY_LIT(w, "message");
	if (r->nmsg > 0) {
		/* render() may move en->msg: read it only after. */
		size_t len = render(en, f);
		jw_str(w, len > 0 ? en->msg : "", len);
	} else {
		jw_strz(w, r->name);
	}
	jw_obj_close(w);
	jw_end(w);
}

/* ---- the rule index ---- */

static uint64_t
key_hash(const struct select_key *k)
{
	if (k->kind != 'n')
		return hash_quick(k->s, k->len, (uint64_t)k->kind);
	double d = k->num == 0 ? 0 : k->num;	/* -0 and 0 are one key */
	return hash_quick((const char *)&d, sizeof(d), 'n');
}

static bool
key_eq(const struct select_key *a, const struct select_key *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == 'n')
		return a->num == b->num;
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static struct gentry *
gfind(struct gfield *f, const struct select_key *k, uint64_t h)
{
	if (f->cap == 0)
		return NULL;
	for (size_t i = h & (f->cap - 1);; i = (i + 1) & (f->cap - 1)) {
		struct gentry *e = &f->tab[i];
		if (e->rule == NULL)
			return e;	/* the empty slot where k would go */
		if (e->hash == h && key_eq(&e->key, k))
			return e;
	}
}

static int
push_rule(uint32_t **list, size_t *n, uint32_t r)
{
	if (*n > 0 && (*list)[*n - 1] == r)
		return 0;	/* the same rule under the same key twice */
	uint32_t *l = realloc(*list, (*n + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	*list = l;
	l[(*n)++] = r;
	return 0;
}

static int
gadd(struct gfield *f, const struct select_key *k, uint32_t r)
{
	if (k->kind == 'p') {
		size_t i;
		for (i = 0; i < f->nplen && f->plen[i] != k->len; i++)
			;
		if (i == f->nplen) {
			if (f->nplen == sizeof(f->plen) / sizeof(f->plen[0]))
				return -1;	/* too many lengths to look up: unindexed */
			f->plen[f->nplen++] = k->len;
		}
	}
	if (2 * (f->used + 1) > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct gentry *t = calloc(cap, sizeof(*t)), *old = f->tab;
		size_t oldcap = f->cap;
		if (t == NULL)
			return -1;
		f->tab = t;
		f->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].rule != NULL)
				*gfind(f, &old[i].key, old[i].hash) = old[i];
		free(old);
	}
	uint64_t h = key_hash(k);
	struct gentry *e = gfind(f, k, h);
	if (e->rule == NULL) {
		e->key = *k;
		e->hash = h;
		f->used++;
	}
	return push_rule(&e->rule, &e->n, r);
}

static void
index_free(struct rindex *ix)
{
	for (size_t i = 0; i < ix->nfield; i++) {
		struct gfield *f = &ix->field[i];
		for (size_t j = 0; j < f->cap; j++)
			free(f->tab[j].rule);
		free(f->tab);
		free(f->rule);
	}
	free(ix->field);
	free(ix->always);
	free(ix->mark);
	free(ix->unguarded);
	free(ix->cand);
	memset(ix, 0, sizeof(*ix));
}

#define INDEX_MIN 64	/* guarded rules that make the index worth its cost */

/* File every rule of rs under its guard.  On failure (memory) every rule
 * is simply always tried. */
static void
index_build(struct rindex *ix, const struct ruleset *rs)
{
	memset(ix, 0, sizeof(*ix));
	ix->always = calloc(rs->n + 1, sizeof(*ix->always));
	ix->mark = calloc(rs->n + 1, sizeof(*ix->mark));
	ix->unguarded = calloc(rs->n + 1, sizeof(*ix->unguarded));
	ix->cand = calloc(rs->n + 1, sizeof(*ix->cand));
	if (ix->always == NULL || ix->mark == NULL || ix->unguarded == NULL || ix->cand == NULL) {
		index_free(ix);
		return;
	}
	ix->nmark = rs->n;
	for (size_t r = 0; r < rs->n; r++) {
		struct select_key *keys;
		int slot;
		size_t nk = select_guard(rs->rule[r].where, &slot, &keys);
		if (nk == 0) {
			ix->always[r] = true;
			continue;
		}
		size_t f;
		for (f = 0; f < ix->nfield && ix->field[f].slot != slot; f++)
			;
		if (f == ix->nfield) {
			struct gfield *nf = realloc(ix->field, (f + 1) * sizeof(*nf));
			if (nf == NULL) {
				ix->always[r] = true;
				continue;
			}
			ix->field = nf;
			ix->field[f] = (struct gfield){ .slot = slot, .sel = rs->rule[r].where };
			ix->nfield++;
		}
		bool ok = push_rule(&ix->field[f].rule, &ix->field[f].n, (uint32_t)r) == 0;
		for (size_t k = 0; ok && k < nk; k++)
			ok = gadd(&ix->field[f], &keys[k], (uint32_t)r) == 0;
		if (!ok)
			ix->always[r] = true;
	}
	for (size_t r = 0; r < rs->n; r++)
		if (ix->always[r])
			ix->unguarded[ix->nunguarded++] = (uint32_t)r;
	/* Looking a record's fields up costs about what trying a few dozen
	 * rules does, now that a rule's conditions are memoised bit tests
	 * (select_memo_add): with few rules to rule out, try them all. */
	if (rs->n - ix->nunguarded < INDEX_MIN)
		index_free(ix);
}

static inline void
mark(struct rindex *ix, uint32_t r)
{
	/* A rule left partly filed (memory ran short) is tried anyway. */
	if (ix->mark[r] != ix->gen && !ix->always[r]) {
		ix->mark[r] = ix->gen;
		ix->cand[ix->ncand++] = r;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* List the guarded rules event vals may match, in rule order, in
 * ix->cand[0, ncand). */
static void
index_mark(struct rindex *ix, struct sval *vals)
{
	if (++ix->gen == 0) {	/* after 2^32 events: old marks could match */
		memset(ix->mark, 0, ix->nmark * sizeof(*ix->mark));
		ix->gen = 1;
	}
	ix->ncand = 0;
	for (size_t i = 0; i < ix->nfield; i++) {
		struct gfield *f = &ix->field[i];
		struct select_key k[2];
		int nk = select_field_keys(f->sel, &vals[f->slot], k);
		if (nk < 0) {
			for (size_t j = 0; j < f->n; j++)
				mark(ix, f->rule[j]);
			continue;
		}
		for (int j = 0; j < nk; j++) {
			struct gentry *e = gfind(f, &k[j], key_hash(&k[j]));
			for (size_t r = 0; e != NULL && r < e->n; r++)
				mark(ix, e->rule[r]);
		}
		/* Prefix keys: the field's text cut to each length filed. */
		for (size_t p = 0; nk > 0 && p < f->nplen; p++) {
			struct select_key pk = { .kind = 'p', .s = k[0].s, .len = f->plen[p] };
			if (pk.len > k[0].len)
				continue;
			struct gentry *e = gfind(f, &pk, key_hash(&pk));
			for (size_t r = 0; e != NULL && r < e->n; r++)
				mark(ix, e->rule[r]);
		}
	}
	if (ix->ncand > 16) {
		qsort(ix->cand, ix->ncand, sizeof(*ix->cand), cmp_u32);
		return;
	}
	for (size_t i = 1; i < ix->ncand; i++) {
		uint32_t r = ix->cand[i];
		size_t j = i;
		for (; j > 0 && ix->cand[j - 1] > r; j--)
			ix->cand[j] = ix->cand[j - 1];
		ix->cand[j] = r;
	}
}

/* ---- evaluation ---- */

/* The group key: each group_by value's type and text, length-prefixed so
 * that no two different tuples meet. */
static size_t
make_key(struct engine *en, const struct rule *r, const struct sval *vals)
{
	size_t need = 1;	/* never a NULL key, even with no group_by */
	for (size_t i = 0; i < r->ngroup; i++)
		need += vals[r->group_slot[i]].len + 1 + sizeof(uint32_t);
	if (need > en->keycap) {
		char *k = realloc(en->key, need);
		if (k == NULL)
			return SIZE_MAX;
		en->key = k;
		en->keycap = need;
	}
	size_t n = 0;
	for (size_t i = 0; i < r->ngroup; i++) {
		const struct sval *v = &vals[r->group_slot[i]];
		uint32_t len = v->type ? (uint32_t)v->len : 0;
		en->key[n++] = v->type;
		memcpy(en->key + n, &len, sizeof(len));
		n += sizeof(len);
		if (len > 0)
			memcpy(en->key + n, v->p, len);
		n += len;
	}
	return n;
}

/* Suppression: may an alert due at ts go out?  Counts it when not. */
static bool
release(const struct rule *r, struct rstate *s, struct group *g, int64_t ts,
    uint64_t *suppressed)
{
	if (g == NULL)
		return true;
	if (r->suppress_ms > 0 && g->emitted && ts < g->last_emit + r->suppress_ms) {
		g->suppressed++;
		s->suppressed++;
		return false;
	}
	*suppressed = g->suppressed;
	g->suppressed = 0;
	g->emitted = true;
	g->last_emit = ts;
	return true;
}

/* An event rule ri's where matched: count it, fire if due. */
static __attribute__((noinline)) size_t
rule_fire(struct engine *en, size_t ri, struct sval *vals, int64_t ts,
    struct jw *w)
{
	const struct rule *r = &en->rs.rule[ri];
	struct rstate *s = &en->st[ri];

	if (r->except != NULL && select_match(r->except, vals))
		return 0;

	struct fire f = { .r = r, .vals = vals, .ts = ts, .first = ts, .last = ts,
		.count = 1 };
	size_t klen = make_key(en, r, vals);
	if (klen == SIZE_MAX)
		return 0;
	f.key = en->key;
	f.klen = klen;

	if (r->type == R_MATCH) {
		struct group *g = NULL;
		if (r->suppress_ms > 0 && (g = group_get(en, s, en->key, klen, ts)) == NULL)
			return 0;
		if (!release(r, s, g, ts, &f.suppressed))
			return 0;
		f.one_id = &vals[en->rs.id_slot];
		write_alert(en, &f, w);
		s->alerts++;
		return 1;
	}

	struct group *g = group_get(en, s, en->key, klen, ts);
	if (g == NULL)
		return 0;
	/* Rule 1: the window ends at the newest time the group has seen,
	 * whether or not it has fired since. */
	if (ts > g->newest)
		g->newest = ts;
	ring_expire(g, g->newest - r->window_ms);
	if (ts <= g->newest - r->window_ms)
		return 0;	/* older than the group's window: it can never count */
	if (ring_insert(g, ts) != 0)
		return 0;
	ids_add(g, ts, &vals[en->rs.id_slot]);
	if ((int64_t)g->n < r->threshold)
		return 0;

	f.count = g->n;
	f.first = ring_at(g, 0);
	f.last = ring_at(g, g->n - 1);
	f.ids = g->ids;
	f.nids = g->nids;
	size_t out = 0;
	if (release(r, s, g, ts, &f.suppressed)) {
		write_alert(en, &f, w);
		s->alerts++;
		out = 1;
	}
	g->n = 0;		/* rule 2: the window empties when it fires */
	g->head = 0;
	g->nids = 0;
	return out;
}

/* Most events match few rules: the test is kept apart from the work of
 * a match, so that trying a rule costs a call and a few bit tests. */
static inline size_t
rule_event(struct engine *en, size_t ri, struct sval *vals, int64_t ts,
    struct jw *w)
{
	if (!select_match(en->rs.rule[ri].where, vals))
		return 0;
	return rule_fire(en, ri, vals, ts, w);
}

size_t
engine_event(struct engine *en, struct sval *vals, int64_t ts, struct jw *w)
{
	size_t n = 0;
	struct rindex *ix = &en->ix;
	en->events++;
	if (ix->always == NULL) {	/* no index: few rules (or little memory) */
		size_t k = select_match_all(en->where, en->rs.n, vals, en->hit);
		for (size_t i = 0; i < k; i++)
			n += rule_fire(en, en->hit[i], vals, ts, w);
		return n;
	}
	index_mark(ix, vals);
	/* The unguarded rules and the candidates, merged in rule order. */
	size_t a = 0, c = 0;
	while (a < ix->nunguarded || c < ix->ncand) {
		uint32_t r;
		if (c == ix->ncand || (a < ix->nunguarded && ix->unguarded[a] < ix->cand[c]))
			r = ix->unguarded[a++];
		else
			r = ix->cand[c++];
		n += rule_event(en, r, vals, ts, w);
	}
	return n;
}

void
engine_tick(struct engine *en, int64_t now)
{
	for (size_t i = 0; i < en->rs.n; i++) {
		const struct rule *r = &en->rs.rule[i];
		struct rstate *s = &en->st[i];
		/* From the least recently seen end: a group seen more recently
		 * than the longest span it must remember ends the search. */
		int64_t keep = r->window_ms > r->suppress_ms ? r->window_ms : r->suppress_ms;
		while (s->tail != NULL && s->tail->seen <= now - keep) {
			struct group *g = s->tail;
			if (g->n > 0)
				ring_expire(g, now - r->window_ms);
			if (g->n > 0 || (r->suppress_ms > 0 && g->emitted &&
			    now < g->last_emit + r->suppress_ms))
				break;
			remove_group(s, g);
		}
	}
}

/* ---- life cycle ---- */

/* Every rule's where, for select_match_all(), and room for its answer;
 * -1 when memory is short. */
static int
where_new(const struct ruleset *rs, const struct select ***where, uint32_t **hit)
{
	*where = calloc(rs->n + 1, sizeof(**where));
	*hit = calloc(rs->n + 1, sizeof(**hit));
	if (*where == NULL || *hit == NULL) {
		free(*where);
		free(*hit);
		return -1;
	}
	for (size_t i = 0; i < rs->n; i++)
		(*where)[i] = rs->rule[i].where;
	return 0;
}

/* Without an index every rule is tried on every record: the memo then
 * also keeps, per field value, the rules that value rules out.  Only an
 * optimisation, so out of memory is no failure. */
static void
where_list(struct engine *en)
{
	if (en->ix.always == NULL && en->rs.memo != NULL)
		(void)select_memo_list(en->rs.memo, en->where, en->rs.n);
}

struct engine *
engine_new(struct ruleset *rs, size_t max_groups)
{
	struct engine *en = calloc(1, sizeof(*en));
	if (en == NULL)
		return NULL;
	en->max_groups = max_groups;
	en->rs = *rs;
	memset(rs, 0, sizeof(*rs));
	if ((en->st = calloc(en->rs.n + 1, sizeof(*en->st))) == NULL ||
	    where_new(&en->rs, &en->where, &en->hit) != 0) {
		engine_free(en);
		return NULL;
	}
	index_build(&en->ix, &en->rs);
	where_list(en);
	return en;
}

void
engine_free(struct engine *en)
{
	if (en == NULL)
		return;
	for (size_t i = 0; en->st != NULL && i < en->rs.n; i++)
		state_free(&en->st[i]);
	free(en->st);
	index_free(&en->ix);
	free(en->where);
	free(en->hit);
	ruleset_free(&en->rs);
	free(en->key);
	free(en->msg);
	free(en);
}

long
engine_swap(struct engine *en, struct ruleset *rs)
{
	struct rstate *st = calloc(rs->n + 1, sizeof(*st));
	const struct select **where;
	uint32_t *hit;
	long kept = 0;
	if (st == NULL || where_new(rs, &where, &hit) != 0) {
		free(st);
		return -1;
	}
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; j < en->rs.n; j++)
			if (strcmp(rs->rule[i].id, en->rs.rule[j].id) == 0 &&
			    strcmp(rs->rule[i].defhash, en->rs.rule[j].defhash) == 0) {
				st[i] = en->st[j];
				memset(&en->st[j], 0, sizeof(en->st[j]));
				kept++;
				break;
			}
	for (size_t j = 0; j < en->rs.n; j++) {
		en->evictions_gone += en->st[j].evictions;
		en->alerts_gone += en->st[j].alerts;
		en->suppressed_gone += en->st[j].suppressed;
		state_free(&en->st[j]);
	}
	free(en->st);
	index_free(&en->ix);
	ruleset_free(&en->rs);
	en->rs = *rs;
	memset(rs, 0, sizeof(*rs));
	en->st = st;
	free(en->where);
	free(en->hit);
	en->where = where;
	en->hit = hit;
	index_build(&en->ix, &en->rs);
	where_list(en);
	return kept;
}

const struct ruleset *
engine_rules(const struct engine *en)
{
	return &en->rs;
}

struct scan *
engine_scan(struct engine *en)
{
	return en->rs.scan;
}

void
engine_stats(const struct engine *en, struct engine_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->events = en->events;
	s->alerts = en->alerts_gone;
	s->suppressed = en->suppressed_gone;
	s->evictions = en->evictions_gone;
	for (size_t i = 0; i < en->rs.n; i++) {
		s->alerts += en->st[i].alerts;
		s->suppressed += en->st[i].suppressed;
		s->evictions += en->st[i].evictions;
		s->groups += en->st[i].ngroups;
	}
}

uint64_t
engine_rule_alerts(const struct engine *en, size_t i)
{
	return en->st[i].alerts;
}

/* ---- state file ---- */

#define STATE_FORMAT "sluice-anomaly-detect-state/1"

static json_t *
group_json(const struct group *g)
{
	json_t *o = json_object(), *ts = json_array(), *ids = json_array();
	char *hex = malloc(g->klen * 2 + 1);
	if (o == NULL || ts == NULL || ids == NULL || hex == NULL) {
		json_decref(o);
		json_decref(ts);
		json_decref(ids);
		free(hex);
		return NULL;
	}
	for (size_t i = 0; i < g->klen; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)g->key[i]);
	json_object_set_new(o, "key", json_stringn(hex, g->klen * 2));
	free(hex);
	for (uint32_t i = 0; i < g->n; i++)
		json_array_append_new(ts, json_integer(ring_at(g, i)));
	json_object_set_new(o, "ts", ts);
	for (uint8_t i = 0; i < g->nids; i++) {
		json_t *pair = json_pack("[I,s#]", (json_int_t)g->ids[i].ts, g->ids[i].s,
		    (int)g->ids[i].len);
		json_array_append_new(ids, pair);
	}
	json_object_set_new(o, "ids", ids);
	json_object_set_new(o, "seen", json_integer(g->seen));
	json_object_set_new(o, "newest", json_integer(g->newest));
	if (g->emitted)
		json_object_set_new(o, "last_emit", json_integer(g->last_emit));
	json_object_set_new(o, "suppressed", json_integer((json_int_t)g->suppressed));
	return o;
}

int
engine_save_state(const struct engine *en, const char *path, struct sl_err *e)
{
	json_t *root = json_object(), *rules = json_object();
	if (root == NULL || rules == NULL) {
		json_decref(root);
		json_decref(rules);
		return err_set(e, path, 0, 0, "out of memory");
	}
	json_object_set_new(root, "format", json_string(STATE_FORMAT));
	json_object_set_new(root, "saved", json_integer(clock_wall_ms()));
	for (size_t i = 0; i < en->rs.n; i++) {
		const struct rule *r = &en->rs.rule[i];
		json_t *groups = json_array();
		/* Oldest first, so a restore rebuilds the same recency order. */
		for (const struct group *g = en->st[i].tail; groups && g; g = g->prev)
			json_array_append_new(groups, group_json(g));
		json_object_set_new(rules, r->id, json_pack("{s:s,s:o}", "def", r->defhash,
		    "groups", groups));
	}
	json_object_set_new(root, "rules", rules);

	size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	if (tmp == NULL) {
		json_decref(root);
		return err_set(e, path, 0, 0, "out of memory");
	}
	snprintf(tmp, len, "%s.tmp%ld", path, (long)getpid());
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || json_dumpfd(root, fd, JSON_COMPACT) != 0 || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		rc = err_set(e, tmp, 0, 0, "cannot write the state: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	} else if (close(fd) != 0 || rename(tmp, path) != 0) {
		rc = err_set(e, path, 0, 0, "cannot replace the state file: %s", strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	json_decref(root);
	return rc;
}

static int
unhex(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (char)v;
	}
	return 0;
}

/* Restore one rule's groups; -1 when the data is malformed. */
static int
restore_rule(struct engine *en, size_t ri, json_t *groups)
{
	struct rstate *s = &en->st[ri];
	size_t i;
	json_t *gj;

	if (!json_is_array(groups))
		return -1;
	json_array_foreach(groups, i, gj) {
		json_t *key = json_object_get(gj, "key"), *ts = json_object_get(gj, "ts");
		json_t *ids = json_object_get(gj, "ids"), *seen = json_object_get(gj, "seen");
		json_t *le = json_object_get(gj, "last_emit"), *sup = json_object_get(gj, "suppressed");
		json_t *newest = json_object_get(gj, "newest");
		if (!json_is_string(key) || json_string_length(key) % 2 != 0 ||
		    !json_is_array(ts) || !json_is_array(ids) || !json_is_integer(seen) ||
		    (le != NULL && !json_is_integer(le)) || !json_is_integer(sup) ||
		    !json_is_integer(newest))
			return -1;
		size_t klen = json_string_length(key) / 2;
		char *k = malloc(klen + 1);
		if (k == NULL || unhex(json_string_value(key), klen * 2, k) != 0) {
			free(k);
			return -1;
		}
		struct group *g = group_get(en, s, k, klen, json_integer_value(seen));
		free(k);
		if (g == NULL)
			return -1;
		size_t j;
		json_t *t;
		json_array_foreach(ts, j, t) {
			if (!json_is_integer(t) || ring_insert(g, json_integer_value(t)) != 0)
				return -1;
		}
		json_array_foreach(ids, j, t) {
			json_int_t when;
			const char *id;
			size_t idlen;
			if (json_unpack(t, "[Is%]", &when, &id, &idlen) != 0)
				return -1;
			struct sval v = { .p = id, .len = idlen, .type = '"' };
			ids_add(g, when, &v);
		}
		g->emitted = le != NULL;
		g->last_emit = le ? json_integer_value(le) : 0;
		g->suppressed = (uint64_t)json_integer_value(sup);
		g->newest = json_integer_value(newest);
	}
	return 0;
}

int
engine_load_state(struct engine *en, const char *path, struct sl_err *e)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (root == NULL)
		return err_set(e, path, (unsigned)(je.line > 0 ? je.line : 0),
		    (unsigned)(je.column > 0 ? je.column : 0), "%s", je.text);
	json_t *fmt = json_object_get(root, "format"), *rules = json_object_get(root, "rules");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), STATE_FORMAT) != 0 ||
	    !json_is_object(rules)) {
		json_decref(root);
		return err_set(e, path, 0, 0, "not an anomaly-detect state file");
	}
	int restored = 0;
	for (size_t i = 0; i < en->rs.n; i++) {
		json_t *rj = json_object_get(rules, en->rs.rule[i].id);
		json_t *def = json_object_get(rj, "def");
		if (!json_is_string(def) || strcmp(json_string_value(def), en->rs.rule[i].defhash) != 0)
			continue;	/* a new or changed rule starts afresh */
		if (restore_rule(en, i, json_object_get(rj, "groups")) != 0) {
			for (size_t k = 0; k < en->rs.n; k++)
				state_free(&en->st[k]);
			json_decref(root);
			return err_set(e, path, 0, 0, "malformed state for rule %s; starting afresh",
			    en->rs.rule[i].id);
		}
		restored++;
	}
	json_decref(root);
	return restored;
}
