/*
 * scan.c - registered field paths extracted from raw JSON records.
 *
 * The registered paths form a trie of key steps ("source" -> "ip").  A
 * record's members are matched against the trie's top level; only a member
 * that leads somewhere is looked at further, so a record costs one
 * validation pass plus work proportional to the fields the program reads.
 */
#include "scan.h"
#include "jstr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#define MAX_KEY 256		/* longest escaped key decoded for matching */

struct tnode {
	char *name;
	size_t len;
	int slot;		/* -1: no path ends here */
	int kid, next;		/* first child, next sibling; -1: none */
};

struct scan {
	struct tnode *node;	/* node[0] is the root */
	size_t nnode, cap;
	int slots;
	uint64_t gen;		/* scan_record() calls + 1 */
	struct jscan_member *m;	/* the record's members, a tape */
	size_t mcap;
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
	sc->mcap = 256;
	sc->m = malloc(sc->mcap * sizeof(*sc->m));
	if (sc->node == NULL || sc->m == NULL) {
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
	free(sc->node);
	free(sc->m);
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

int
scan_path(struct scan *sc, const char *path)
{
	int at = 0;
	const char *p = path;

	if (*p == '\0')
		return -1;
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
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (sc->node[at].slot < 0)
		sc->node[at].slot = sc->slots++;
	return sc->node[at].slot;
}

/* The node a member key leads to from node at: one step, or several when
 * the key is a flat dotted name ("source.ip").  -1 when it leads nowhere. */
static int
walk(const struct scan *sc, int at, const char *k, size_t klen)
{
	char tmp[MAX_KEY];
	int direct = child(sc, at, k, klen);

	if (direct >= 0)
		return direct;	/* the usual case: one plain step */
	if (memchr(k, '\\', klen) != NULL) {
		if (klen > sizeof(tmp))
			return -1;
		klen = jstr_unescape(k, klen, tmp);
		k = tmp;
	}
	for (;;) {
		const char *dot = memchr(k, '.', klen);
		size_t len = dot ? (size_t)(dot - k) : klen;
		at = child(sc, at, k, len);
		if (at < 0 || dot == NULL)
			return at;
		klen -= len + 1;
		k = dot + 1;
	}
}

static void
fill(struct scan *sc, const struct jscan_member *m, struct sval *v)
{
	v->type = m->type;
	if (m->type != '"') {
		v->p = m->val;
		v->len = m->vlen;
		return;
	}
	v->p = m->val + 1;
	v->len = m->vlen - 2;
	if (memchr(v->p, '\\', v->len) != NULL) {
		char *out = sc->buf + sc->blen;
		v->len = jstr_unescape(v->p, v->len, out);
		v->p = out;
		sc->blen += v->len;
	}
}

/* The members m[from, to) are siblings with their subtrees (a tape from
 * jscan_tape()); at is the trie node their object stands for. */
static void
visit(struct scan *sc, const struct jscan_member *m, size_t from, size_t to,
    int at, struct sval *vals)
{
	for (size_t i = from; i < to; i = m[i].next) {
		int k = walk(sc, at, m[i].key, m[i].klen);
		if (k < 0)
			continue;
		const struct tnode *t = &sc->node[k];
		if (t->slot >= 0 && vals[t->slot].type == 0)
			fill(sc, &m[i], &vals[t->slot]);
		if (t->kid >= 0 && m[i].type == '{')
			visit(sc, m, i + 1, m[i].next, k, vals);
	}
}

int
scan_record(struct scan *sc, const char *line, size_t n, struct sval *vals,
    struct jscan_err *e)
{
	size_t count;
	sc->gen++;
	char type = jscan_tape(line, n, sc->m, sc->mcap, &count, e);

	if (type == 0)
		return -1;
	if (type != '{') {
		e->msg = type == '[' ? "not a JSON object (an array)" : "not a JSON object";
		e->pos = 0;
		return -1;
	}
	if (count > sc->mcap) {
		struct jscan_member *m = realloc(sc->m, count * sizeof(*m));
		if (m == NULL) {
			e->msg = "out of memory";
			e->pos = 0;
			return -1;
		}
		sc->m = m;
		sc->mcap = count;
		jscan_tape(line, n, sc->m, sc->mcap, &count, e);
	}
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
	if (sc->node[0].kid >= 0)
		visit(sc, sc->m, 0, count, 0, vals);
	return 0;
}

uint64_t
scan_gen(const struct scan *sc)
{
	return sc->gen;
}

const uint64_t *
scan_genp(const struct scan *sc)
{
	return &sc->gen;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
