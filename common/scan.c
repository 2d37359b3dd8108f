/*
 * scan.c - registered field paths extracted from raw JSON records.
 *
 * The registered paths form a trie of key steps ("source" -> "ip").  A
 * record's members are matched against the trie's top level; only a member
 * that leads somewhere is looked at further, so a record costs one
 * validation pass plus work proportional to the fields the program reads.
 */
#include "scan.h"
#include "hash.h"
#include "jscan-scan.h"
#include "jstr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#define MAX_KEY 256		/* longest escaped key decoded for matching */
#define SEEN_KEYS 64		/* keys of the last record remembered */
#define SEEN_KEY 24		/* longest key remembered */

struct tnode {
	char *name;
	size_t len;
	int slot;		/* -1: no path ends here */
	int kid, next;		/* first child, next sibling; -1: none */
};

/* Every key that leads from a node to another: each step of a path, and
 * each run of steps joined with dots, as a flat record would name them
 * ("source.ip" from the root, as well as "source", then "ip"). */
struct kent {
	uint64_t hash;
	char *name;		/* NULL: an empty entry */
	size_t len;
	int from, to;		/* nodes */
};

struct scan {
	struct tnode *node;	/* node[0] is the root */
	size_t nnode, cap;
	struct kent *key;	/* open addressing, at most half full */
	size_t nkey, kcap;
	int slots;
	/* The keys of the last record, by their place in it: records of one
	 * stream mostly repeat their keys in the same order, and a key
	 * compared with the one at its place (on_guess) costs less than
	 * reading it to its end and looking it up. */
	struct seen {
		int from, to;
		uint8_t len;	/* 0: nothing here */
		char name[SEEN_KEY];
	} seen[SEEN_KEYS];
	uint64_t gen;		/* scan_record() calls + 1 */
	char *buf;		/* decoded strings of the record, then scratch */
	size_t bcap, blen;
	size_t slen, scap;	/* scratch used and allowed, after bcap / 2 */
};

struct scan *
scan_new(void)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->cap = 16;
	sc->node = calloc(sc->cap, sizeof(*sc->node));
	if (sc->node == NULL) {
		scan_free(sc);
		return NULL;
	}
	sc->nnode = 1;
	sc->gen = 1;
	sc->node[0] = (struct tnode){ .slot = -1, .kid = -1, .next = -1 };
	return sc;
}

void
scan_free(struct scan *sc)
{
	if (sc == NULL)
		return;
	for (size_t i = 0; i < sc->nnode; i++)
		free(sc->node[i].name);
	for (size_t i = 0; i < sc->kcap; i++)
		free(sc->key[i].name);
	free(sc->key);
	free(sc->node);
	free(sc->buf);
	free(sc);
}

size_t
scan_slots(const struct scan *sc)
{
	return (size_t)sc->slots;
}

static int
child(const struct scan *sc, int at, const char *name, size_t len)
{
	for (int k = sc->node[at].kid; k >= 0; k = sc->node[k].next)
		if (sc->node[k].len == len && sc->node[k].name[0] == name[0] &&
		    memcmp(sc->node[k].name, name, len) == 0)
			return k;
	return -1;
}


/* Keys are looked up once per member of every record, and the keys a
 * program reads differ in length or in their first, middle or last byte
 * nearly always; a hash of those is enough to spread them (a collision
 * costs a probe). */
static inline uint64_t
key_hash(int from, const char *name, size_t len)
{
	uint64_t x = (uint64_t)len | (uint64_t)(unsigned char)name[0] << 16 |
	    (uint64_t)(unsigned char)name[len / 2] << 24 |
	    (uint64_t)(unsigned char)name[len - 1] << 32 | (uint64_t)from << 40;
	x *= 0x9e3779b97f4a7c15ULL;
	return x ^ (x >> 31);
}

static inline struct kent *
key_slot(const struct scan *sc, int from, const char *name, size_t len, uint64_t h)
{
	for (size_t i = h & (sc->kcap - 1);; i = (i + 1) & (sc->kcap - 1)) {
		struct kent *e = &sc->key[i];
		if (e->name == NULL || (e->hash == h && e->len == len && e->from == from &&
		    swar_equal(e->name, name, len)))
			return e;
	}
}

/* The node key name[0, len) leads to from node from, or -1. */
static inline int
key_find(const struct scan *sc, int from, const char *name, size_t len)
{
	if (sc->kcap == 0 || len == 0)
		return -1;
	const struct kent *e = key_slot(sc, from, name, len, key_hash(from, name, len));
	return e->name != NULL ? e->to : -1;
}

static int
key_add(struct scan *sc, int from, const char *name, size_t len, int to)
{
	if (2 * (sc->nkey + 1) > sc->kcap) {
		size_t cap = sc->kcap ? 2 * sc->kcap : 32, oldcap = sc->kcap;
		struct kent *old = sc->key, *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return -1;
		sc->key = t;
		sc->kcap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].name != NULL)
				*key_slot(sc, old[i].from, old[i].name, old[i].len, old[i].hash) = old[i];
		free(old);
	}
	uint64_t h = key_hash(from, name, len);
	struct kent *e = key_slot(sc, from, name, len, h);
	if (e->name != NULL)
		return 0;	/* filed by an earlier path */
	if ((e->name = malloc(len + 1)) == NULL)
		return -1;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->hash = h;
	e->len = len;
	e->from = from;
	e->to = to;
	sc->nkey++;
	return 0;
}

int
scan_path(struct scan *sc, const char *path)
{
	int steps[256];
	const char *starts[256];
	size_t nsteps = 0;
	int at = 0;
	const char *p = path;

	if (*p == '\0')
		return -1;
	/* The last record's keys were looked up among the paths then: a
	 * key that led nowhere may lead somewhere now. */
	memset(sc->seen, 0, sizeof(sc->seen));
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0)
			return -1;
		int k = child(sc, at, p, len);
		if (k < 0) {
			if (sc->nnode == sc->cap) {
				struct tnode *n = realloc(sc->node, 2 * sc->cap * sizeof(*n));
				if (n == NULL)
					return -1;
				sc->node = n;
				sc->cap *= 2;
			}
			char *name = malloc(len + 1);
			if (name == NULL)
				return -1;
			memcpy(name, p, len);
			name[len] = '\0';
			k = (int)sc->nnode++;
			sc->node[k] = (struct tnode){ .name = name, .len = len,
			    .slot = -1, .kid = -1, .next = sc->node[at].kid };
			sc->node[at].kid = k;
		}
		at = k;
		if (nsteps == sizeof(steps) / sizeof(steps[0]))
			return -1;
		starts[nsteps] = p;
		steps[nsteps++] = k;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	/* Steps i..j of the path, joined, lead from the node before step i
	 * to the node of step j. */
	for (size_t i = 0; i < nsteps; i++)
		for (size_t j = i; j < nsteps; j++) {
			const char *end = starts[j] + sc->node[steps[j]].len;
			if (key_add(sc, i ? steps[i - 1] : 0, starts[i],
			    (size_t)(end - starts[i]), steps[j]) != 0)
				return -1;
		}
	if (sc->node[at].slot < 0)
		sc->node[at].slot = sc->slots++;
	return sc->node[at].slot;
}

/* What the scanner calls back with (jscan-scan.h). */
struct walk {
	struct scan *sc;
	struct sval *vals;
	size_t nkeys;		/* keys looked up so far in this record */
};

/* The node a member key leads to from node at: one step, or several when
 * the key is a flat dotted name ("source.ip").  -1 when it leads nowhere. */
static int
on_key(void *arg, int at, const char *k, size_t klen, int esc)
{
	struct walk *wk = arg;
	struct scan *sc = wk->sc;
	if (sc->node[at].kid < 0)
		return -1;	/* nothing registered below */
	if (!esc) {
		/* on_guess() compared the key at this place already: this is
		 * a new one, filed for the next record. */
		struct seen *was = wk->nkeys < SEEN_KEYS ? &sc->seen[wk->nkeys++] : NULL;
		int to = key_find(sc, at, k, klen);
		if (was != NULL && klen <= SEEN_KEY) {
			was->from = at;
			was->to = to;
			was->len = (uint8_t)klen;
			memcpy(was->name, k, klen);
		} else if (was != NULL) {
			was->len = 0;
		}
		return to;
	}
	char tmp[MAX_KEY];
	if (klen > sizeof(tmp))
		return -1;
	return key_find(sc, at, tmp, jstr_unescape(k, klen, tmp));
}

/* The key at k, guessed: the key at this place in the last record, when
 * it came from the same object, is followed by the closing quote here,
 * and the bytes match (that key was read in full then, so it holds
 * nothing a JSON string must escape).  What on_key() would have found,
 * without reading the key for its end first. */
static size_t
on_guess(void *arg, int at, const char *k, const char *end, int *to)
{
	struct walk *wk = arg;
	if (wk->nkeys >= SEEN_KEYS)
		return 0;
	const struct seen *was = &wk->sc->seen[wk->nkeys];
	size_t len = was->len;
	if (len == 0 || was->from != at || (size_t)(end - k) <= len || k[len] != '"' ||
	    !swar_equal(was->name, k, len))
		return 0;
	wk->nkeys++;
	*to = was->to;
	return len;
}

/* The value of a member that leads to node at: its slot's value, when
 * this is the first of it in the record. */
static void
on_value(void *arg, int at, char type, const char *val, size_t vlen, int esc)
{
	struct walk *wk = arg;
	struct scan *sc = wk->sc;
	int slot = sc->node[at].slot;
	if (slot < 0 || wk->vals[slot].type != 0)
		return;
	struct sval *v = &wk->vals[slot];
	v->type = type;
	if (type != '"') {
		v->p = val;
		v->len = vlen;
		return;
	}
	v->p = val + 1;
	v->len = vlen - 2;
	if (esc) {
		char *out = sc->buf + sc->blen;
		v->len = jstr_unescape(v->p, v->len, out);
		v->p = out;
		sc->blen += v->len;
	}
}

int
scan_record(struct scan *sc, const char *line, size_t n, struct sval *vals,
    struct jscan_err *e)
{
	sc->gen++;
	/* Room for the decoded strings (at most n bytes) and as much again
	 * for scan_scratch(). */
	if (sc->bcap < 2 * n) {
		char *b = realloc(sc->buf, 2 * n);
		if (b == NULL) {
			e->msg = "out of memory";
			e->pos = 0;
			return -1;
		}
		sc->buf = b;
		sc->bcap = 2 * n;
	}
	sc->blen = 0;
	sc->slen = 0;
	sc->scap = n;
	for (int i = 0; i < sc->slots; i++) {
		vals[i].type = 0;
		vals[i].known = 0;
	}
	/* The scanner is inlined here, so these calls are direct. */
	struct walk wk = { .sc = sc, .vals = vals };
	const struct jscan_walker w = { .key = on_key, .value = on_value, .guess = on_guess,
		.arg = &wk };
	char type = jscan_run(line, n, NULL, 0, NULL, e, false, &w);
	if (type == 0)
		return -1;
	if (type != '{') {
		e->msg = type == '[' ? "not a JSON object (an array)" : "not a JSON object";
		e->pos = 0;
		return -1;
	}
	return 0;
}

const uint64_t *
scan_gen(const struct scan *sc)
{
	return &sc->gen;
}

char *
scan_scratch(struct scan *sc, size_t n)
{
	if (n > sc->scap - sc->slen)
		return NULL;
	char *p = sc->buf + sc->bcap / 2 + sc->slen;
	sc->slen += n;
	return p;
}

bool
scan_element(const char *arr, size_t n, size_t *pos, struct sval *v, char *buf,
    size_t cap)
{
	size_t i = *pos;
	if (i == 0) {
		while (i < n && arr[i] != '[')
			i++;
		i++;
	}
	while (i < n && (is_ws(arr[i]) || arr[i] == ','))
		i++;
	if (i >= n || arr[i] == ']') {
		*pos = n;
		return false;
	}
	size_t start = i;
	char c = arr[i];
	if (c == '"') {
		i = (size_t)(jscan_string_end(arr + i + 1, arr + n) - arr);
		v->type = '"';
		v->p = arr + start + 1;
		v->len = i - start - 2;
		if (v->len <= cap && memchr(v->p, '\\', v->len) != NULL) {
			v->len = jstr_unescape(v->p, v->len, buf);
			v->p = buf;
		}
	} else if (c == '{' || c == '[') {
		size_t depth = 0;
		while (i < n) {
			char d = arr[i];
			if (d == '"') {
				i = (size_t)(jscan_string_end(arr + i + 1, arr + n) - arr);
				continue;
			}
			i++;
			if (d == '{' || d == '[')
				depth++;
			else if ((d == '}' || d == ']') && --depth == 0)
				break;
		}
		v->type = c;
		v->p = arr + start;
		v->len = i - start;
	} else {
		while (i < n && arr[i] != ',' && arr[i] != ']' && !is_ws(arr[i]))
			i++;
		v->type = c == 't' || c == 'f' || c == 'n' ? c : '0';
		v->p = arr + start;
		v->len = i - start;
	}
	*pos = i;
	return true;
}
