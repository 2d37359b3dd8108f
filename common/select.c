/*
 * select.c - Sigma-style selections compiled to flat arrays and matched
 * against extracted fields.
 *
 * Everything that can be decided once is decided at compile time: values
 * are lower-cased unless `cased`, wildcards are found and escapes resolved,
 * contains/startswith/endswith without wildcards become plain substring,
 * prefix and suffix tests, regexes are compiled (JIT) and CIDR blocks
 * parsed.  A condition expression compiles to a small tree over the
 * selections; `1 of sel_*` and `all of them` expand at compile time.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "select.h"
#include "hash.h"
#include "swar.h"

#include <arpa/inet.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_CONTAINS, OP_STARTS, OP_ENDS, OP_GLOB, OP_RE, OP_CIDR,
	OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EXISTS };
enum vkind { V_STR, V_NUM, V_BOOL, V_NULL };
enum { W_LIT, W_STAR, W_ONE };	/* glob pattern bytes */

struct pat {
	enum vkind kind;
	char *s;		/* V_STR text (lower-cased unless cased) */
	size_t len;
	uint8_t *wild;		/* OP_GLOB: W_* per byte of s */
	double num;
	bool b;
	pcre2_code *re;
	pcre2_match_data *md;
	int fam;		/* OP_CIDR: AF_INET or AF_INET6 */
	uint8_t net[16];
	unsigned bits;
};

struct item {
	int slot;
	enum op op;
	bool cased, all, neg, exists;
	struct pat *pat;
	size_t npat;
};

/* Through a memo (select_memo_add): the items of a conjunction as bit
 * tests, one per field and word of that field's results. */
struct term {
	uint32_t mslot;
	uint32_t word;		/* row[2 word]: known bits; row[2 word + 1]: results */
	uint64_t mask;
};

struct conj {
	struct item *it;
	size_t n;
	struct term *term;	/* NULL: test the items */
	size_t nterm;
};

struct sel {
	struct conj *alt;
	size_t n;
};

enum nkind { N_SEL, N_AND, N_OR, N_NOT };
struct node {
	enum nkind k;
	int sel;
	struct node **kid;
	size_t n;
};

struct select {
	struct scan *scan;	/* where the fields come from; its scratch */
	struct select_key *guard;	/* select_guard(), made on first call */
	size_t nguard;
	int guard_slot;
	bool guard_done;
	struct sel *sel;
	size_t nsel;
	struct node *root;	/* NULL: the one selection sel[0] */
	struct select_memo *memo;	/* NULL: not memoised */
	const struct conj *flat;	/* the one conjunction, memoised */
};

static bool terms_hold(struct select_memo *m, const struct conj *c,
    struct sval *vals);
static inline int conj_known(const struct select_memo *m, const struct conj *c);

/* ---- matching ---- */

static inline unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static size_t
utf8_len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Does h[0, n) contain p[0, len)?  Sixteen candidate positions a step:
 * where both the needle's first and last bytes sit at the right distance
 * (Mula's SIMD search, SSE2 here); only those are compared in full.
 * glibc's memmem costs more than that to set up for the short needles
 * and haystacks of log fields. */
static bool
contains(const char *h, size_t n, const char *p, size_t len)
{
	if (len == 0)
		return true;
	if (len > n)
		return false;
	size_t i = 0, last = len - 1;
#ifdef __SSE2__
	const __m128i first = _mm_set1_epi8(p[0]), end = _mm_set1_epi8(p[last]);
	for (bool tail = false; i + last + 16 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(h + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(h + i + last));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
		    _mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, end)));
		while (m != 0) {
			unsigned k = (unsigned)__builtin_ctz(m);
			if (memcmp(h + i + k + 1, p + 1, last) == 0 || len == 1)
				return true;
			m &= m - 1;
		}
		/* The positions left over: one more step ending at the last
		 * one, overlapping what was already looked at. */
		if (!tail && i + 16 + last + 16 > n && i + 16 + last < n) {
			tail = true;
			i = n - last - 16 - 16;
		} else if (tail) {
			return false;
		}
	}
#endif
	for (; i + len <= n; i++)
		if (h[i] == p[0] && h[i + last] == p[last] && memcmp(h + i, p, len) == 0)
			return true;
	return false;
}

/* Wildcard match with one backtracking point: each '*' only ever needs
 * the most recent one retried.  s is already lower-cased when the
 * pattern is. */
static bool
glob(const struct pat *p, const char *s, size_t n)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
	while (si < n) {
		if (pi < p->len && p->wild[pi] == W_ONE) {
			pi++;
			si += utf8_len((unsigned char)s[si]);
			if (si > n)
				si = n;
		} else if (pi < p->len && p->wild[pi] == W_LIT && p->s[pi] == s[si]) {
			pi++;
			si++;
		} else if (pi < p->len && p->wild[pi] == W_STAR) {
			star = pi++;
			mark = si;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < p->len && p->wild[pi] == W_STAR)
		pi++;
	return pi == p->len;
}

static bool text_number_slow(const char *s, size_t n, size_t i, double *out);

/* The number text s[0, n) holds exactly (JSON number syntax), if any.
 * Plain integers, nearly every number in a log, skip strtod (and the
 * buffer it needs, kept out of this path). */
static inline bool
text_number(const char *s, size_t n, double *out)
{
	size_t i = n > 1 && s[0] == '-' ? 1 : 0;
	if (n == 0 || (unsigned char)(s[i] - '0') > 9)
		return false;
	if (n - i <= 15) {
		int64_t v = 0;
		size_t j = i;
		for (unsigned d; j < n && (d = (unsigned char)(s[j] - '0')) <= 9; j++)
			v = v * 10 + d;
		if (j == n) {
			*out = (double)(i ? -v : v);
			return true;
		}
	}
	return text_number_slow(s, n, i, out);
}

/* text_number() of anything but a short integer. */
static __attribute__((noinline)) bool
text_number_slow(const char *s, size_t n, size_t i, double *out)
{
	char buf[64];
	if (n >= sizeof(buf))
		return false;
	for (size_t j = i; j < n; j++)
		if (!((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == 'e' ||
		    s[j] == 'E' || s[j] == '+' || s[j] == '-'))
			return false;	/* strtod would take hex, inf and nan */
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out);
}

/* The number a field holds (a JSON number, or a string that is exactly
 * one), worked out once per record. */
static inline bool
field_number(struct sval *v, double *out)
{
	if (!(v->known & SVAL_NUM)) {
		v->known |= SVAL_NUM;
		if ((v->type == '0' || v->type == '"') && text_number(v->p, v->len, &v->num))
			v->is |= SVAL_NUM;
		else
			v->is &= (uint8_t)~SVAL_NUM;
	}
	*out = v->num;
	return v->is & SVAL_NUM;
}

/* The address a string field holds, worked out once per record; an
 * IPv4-mapped IPv6 address is its IPv4 address. */
static bool
field_ip(struct sval *v)
{
	if (v->known & SVAL_IP)
		return v->is & SVAL_IP;
	char buf[INET6_ADDRSTRLEN + 1];
	v->known |= SVAL_IP;
	v->is &= (uint8_t)~SVAL_IP;
	if (v->type != '"' || v->len == 0 || v->len >= sizeof(buf))
		return false;
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	if (inet_pton(AF_INET, buf, v->ip) == 1) {
		v->fam = 4;
	} else if (inet_pton(AF_INET6, buf, v->ip) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		v->fam = 6;
		if (memcmp(v->ip, mapped, 12) == 0) {
			memmove(v->ip, v->ip + 12, 4);
			v->fam = 4;
		}
	} else {
		return false;
	}
	v->is |= SVAL_IP;
	return true;
}

/* The field's text lower-cased, worked out once per record; text with
 * no capital letters (most of a log) is not copied.  NULL when out of
 * scratch memory. */
static const char *
lower_copy(const struct select *s, struct sval *v)
{
	size_t i = 0, n = v->len;
	const char *p = v->p;
#ifdef __SSE2__
	/* Capitals are the bytes above '@' and below '['; signed compares
	 * are right for them, since both bounds are ASCII. */
	const __m128i at = _mm_set1_epi8('A' - 1), bracket = _mm_set1_epi8('Z' + 1);
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, at), _mm_cmplt_epi8(x, bracket));
		if (_mm_movemask_epi8(up) != 0)
			break;
	}
#endif
	while (i < n && (unsigned char)(p[i] - 'A') > 'Z' - 'A')
		i++;
	if (i == n) {
		v->lower = p;	/* no capitals: the text is its own lower case */
		v->known |= SVAL_LOWER;
		return v->lower;
	}
	char *low = scan_scratch(s->scan, n);
	if (low != NULL) {
		memcpy(low, p, i);
#ifdef __SSE2__
		const __m128i bit = _mm_set1_epi8(0x20);
		for (; i + 16 <= n; i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			__m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, at), _mm_cmplt_epi8(x, bracket));
			_mm_storeu_si128((__m128i *)(void *)(low + i),
			    _mm_or_si128(x, _mm_and_si128(up, bit)));
		}
#endif
		for (; i < n; i++)
			low[i] = (char)lower((unsigned char)p[i]);
	}
	v->lower = low;
	v->known |= SVAL_LOWER;
	return v->lower;
}

static inline const char *
field_lower(const struct select *s, struct sval *v)
{
	return v->known & SVAL_LOWER ? v->lower : lower_copy(s, v);
}

static bool
in_cidr(const struct pat *p, const struct sval *v)
{
	if ((v->fam == 4 ? AF_INET : AF_INET6) != p->fam)
		return false;
	unsigned full = p->bits / 8, rest = p->bits % 8;
	if (memcmp(v->ip, p->net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (v->ip[full] & mask) == (p->net[full] & mask);
}

/* One scalar field value against one pattern. */
static bool
scalar_match(const struct select *s, const struct item *it, const struct pat *p,
    struct sval *v)
{
	const char *t;
	double x;

	switch (it->op) {
	case OP_GT: return field_number(v, &x) && x > p->num;
	case OP_GTE: return field_number(v, &x) && x >= p->num;
	case OP_LT: return field_number(v, &x) && x < p->num;
	case OP_LTE: return field_number(v, &x) && x <= p->num;
	case OP_CIDR: return field_ip(v) && in_cidr(p, v);
	default:
		break;
	}
	if (p->kind == V_NULL)
		return v->type == 'n';
	if (p->kind == V_NUM)
		return field_number(v, &x) && x == p->num;
	if (p->kind == V_BOOL) {
		if (v->type == 't' || v->type == 'f')
			return (v->type == 't') == p->b;
		return v->type == '"' && v->len == (p->b ? 4u : 5u) &&
		    (t = field_lower(s, v)) != NULL &&
		    memcmp(t, p->b ? "true" : "false", v->len) == 0;
	}
	/* Text: strings, and the JSON text of numbers and booleans. */
	if (v->type != '"' && v->type != '0' && v->type != 't' && v->type != 'f')
		return false;
	if (it->op == OP_RE)
		return pcre2_match(p->re, (PCRE2_SPTR)v->p, v->len, 0, PCRE2_NO_UTF_CHECK,
		    p->md, NULL) >= 0;
	size_t n = v->len;
	if (it->op == OP_EQ && n != p->len)
		return false;	/* before lower-casing anything */
	t = it->cased ? v->p : field_lower(s, v);
	if (t == NULL)
		return false;
	switch (it->op) {
	case OP_EQ:
		return memcmp(t, p->s, n) == 0;
	case OP_CONTAINS:
		return contains(t, n, p->s, p->len);
	case OP_STARTS:
		return n >= p->len && memcmp(t, p->s, p->len) == 0;
	case OP_ENDS:
		return n >= p->len && memcmp(t + n - p->len, p->s, p->len) == 0;
	case OP_GLOB:
		return glob(p, t, n);
	default:
		return false;
	}
}

static bool
value_match(const struct select *s, const struct item *it, const struct pat *p,
    struct sval *v)
{
	if (v->type == 0)	/* rule 4: only null meets a missing field */
		return p->kind == V_NULL && (it->op == OP_EQ || it->op == OP_GLOB);
	if (v->type != '[')
		return scalar_match(s, it, p, v);
	/* Elements are decoded and lower-cased into buffers of this call,
	 * not the record's scratch, which many elements times many rules
	 * would run through; a whole array's length bounds any element. */
	char local[2][1024], *buf = local[0], *low = local[1], *heap = NULL;
	if (v->len > sizeof(local[0])) {
		heap = malloc(2 * v->len);
		if (heap == NULL)
			return false;
		buf = heap;
		low = heap + v->len;
	}
	size_t pos = 0;
	struct sval e;
	bool r = false;
	while (!r && scan_element(v->p, v->len, &pos, &e, buf, v->len)) {
		e.known = SVAL_LOWER;
		e.lower = low;
		for (size_t i = 0; i < e.len; i++)
			low[i] = (char)lower((unsigned char)e.p[i]);
		r = scalar_match(s, it, p, &e);
	}
	free(heap);
	return r;
}

static bool
item_match(const struct select *s, const struct item *it, struct sval *vals)
{
	struct sval *v = &vals[it->slot];
	bool r;

	if (it->op == OP_EXISTS) {
		r = (v->type != 0 && v->type != 'n') == it->exists;
	} else if (it->all) {
		r = true;
		for (size_t i = 0; r && i < it->npat; i++)
			r = value_match(s, it, &it->pat[i], v);
	} else {
		r = false;
		for (size_t i = 0; !r && i < it->npat; i++)
			r = value_match(s, it, &it->pat[i], v);
	}
	return r != it->neg;
}

static __attribute__((noinline)) bool
items_hold(const struct select *s, const struct conj *c, struct sval *vals)
{
	size_t i = 0;
	while (i < c->n && item_match(s, &c->it[i], vals))
		i++;
	return i == c->n;
}

static bool
sel_match(const struct select *s, const struct sel *sel, struct sval *vals)
{
	for (size_t a = 0; a < sel->n; a++) {
		const struct conj *c = &sel->alt[a];
		int r;
		if (c->term == NULL)
			r = items_hold(s, c, vals);
		else if ((r = conj_known(s->memo, c)) < 0)
			r = terms_hold(s->memo, c, vals);
		if (r)
			return true;
	}
	return false;
}

static bool
node_match(const struct select *s, const struct node *n, struct sval *vals)
{
	switch (n->k) {
	case N_SEL:
		return sel_match(s, &s->sel[n->sel], vals);
	case N_NOT:
		return !node_match(s, n->kid[0], vals);
	case N_AND:
		for (size_t i = 0; i < n->n; i++)
			if (!node_match(s, n->kid[i], vals))
				return false;
		return true;
	case N_OR:
		for (size_t i = 0; i < n->n; i++)
			if (node_match(s, n->kid[i], vals))
				return true;
		return false;
	}
	return false;
}

static __attribute__((noinline)) bool
select_match_tree(const struct select *s, struct sval *vals)
{
	if (s->root == NULL)
		return sel_match(s, &s->sel[0], vals);
	return node_match(s, s->root, vals);
}

/* ---- guards ---- */

/* Can item it be a guard?  Plain equality, not negated, any of its
 * values, every value a string without wildcards or a number. */
static int
guard_item(const struct item *it)
{
	if ((it->op != OP_EQ && it->op != OP_STARTS) || it->neg ||
	    (it->all && it->npat > 1) || it->npat == 0)
		return 0;
	bool text = true;
	for (size_t i = 0; i < it->npat; i++) {
		if (it->pat[i].kind != V_STR && it->pat[i].kind != V_NUM)
			return 0;
		text = text && it->pat[i].kind == V_STR;
		if (it->op == OP_STARTS && it->pat[i].len < 3)
			return 0;	/* too short a prefix to tell rules apart */
	}
	/* How well it tells records apart, as a guess: exact text, then a
	 * prefix, then numbers (a status code has few values). */
	return it->op == OP_EQ ? (text ? 3 : 1) : 2;
}

size_t
select_guard(const struct select *cs, int *slot, struct select_key **keys)
{
	struct select *s = (struct select *)cs;	/* the guard is a cache */
	if (!s->guard_done) {
		s->guard_done = true;
		/* Only a plain selection of one mapping: in a list (OR) or a
		 * condition no single item is needed by every match. */
		const struct item *best = NULL;
		int score = 0;
		if (s->root == NULL && s->nsel == 1 && s->sel[0].n == 1) {
			const struct conj *c = &s->sel[0].alt[0];
			for (size_t i = 0; i < c->n; i++) {
				int g = guard_item(&c->it[i]);
				if (g > score) {
					score = g;
					best = &c->it[i];
				}
			}
		}
		if (best != NULL && (s->guard = calloc(best->npat, sizeof(*s->guard))) != NULL) {
			for (size_t i = 0; i < best->npat; i++) {
				const struct pat *p = &best->pat[i];
				struct select_key *k = &s->guard[s->nguard];
				if (p->kind == V_NUM && best->op == OP_EQ) {
					k->kind = 'n';
					k->num = p->num;
				} else if (p->kind == V_NUM) {
					break;	/* cannot happen: startswith values are text */
				} else {
					char *t = malloc(p->len + 1);
					if (t == NULL)
						break;
					for (size_t j = 0; j <= p->len; j++)
						t[j] = (char)lower((unsigned char)p->s[j]);
					k->kind = best->op == OP_STARTS ? 'p' : 's';
					k->s = t;
					k->len = p->len;
				}
				s->nguard++;
			}
			if (s->nguard < best->npat) {	/* out of memory: no guard */
				for (size_t i = 0; i < s->nguard; i++)
					free((char *)s->guard[i].s);
				s->nguard = 0;
			}
			s->guard_slot = best->slot;
		}
	}
	*slot = s->guard_slot;
	*keys = s->guard;
	return s->nguard;
}

/* The guard keys a record's field yields: its lower-cased text, and its
 * number when it holds one.  For the caller's index lookups. */
int
select_field_keys(const struct select *s, struct sval *v, struct select_key out[2])
{
	int n = 0;
	double x;
	if (v->type == '[')
		return -1;	/* any element may match: no key rules anything out */
	if (v->type != '"' && v->type != '0' && v->type != 't' && v->type != 'f')
		return 0;	/* missing, null, an object: equal to no guard key */
	const char *t = field_lower(s, v);
	if (t == NULL)
		return -1;
	out[n++] = (struct select_key){ .kind = 's', .s = t, .len = v->len };
	if (field_number(v, &x))
		out[n++] = (struct select_key){ .kind = 'n', .num = x };
	return n;
}

/* ---- memoised matching ---- */

/* Every field condition is a function of its one field's value alone
 * (type and text), and log fields repeat: a handful of user agents,
 * methods and status codes, a few thousand paths.  So the results of
 * all the conditions on one field are worked out together, once per
 * distinct value, and kept in a direct-mapped table per field; a
 * selection then tests bits.  A value seen again costs a hash and a
 * compare; a value never seen again costs what matching it always did,
 * plus a copy.  Any hash will do: a collision only evicts an entry, and
 * a hit is confirmed byte for byte.
 *
 * A table starts small, so that the fields of few values (methods,
 * status codes) stay in the processor's nearest cache, and grows while
 * lookups miss often; a field whose values hardly repeat even in the
 * largest table (byte counts, request ids) is not worth caching: its
 * rows are then worked out afresh for a while before caching is tried
 * again. */
#define MEMO_MIN 64		/* values kept per field at first: a power of 2, >= 2 */
#define MEMO_MAX 16384		/* at most */
#define MEMO_TEXT 192		/* longer values are matched every time */
#define MEMO_STRETCH 2048	/* lookups judged together */
#define MEMO_SKIP 65536		/* records left uncached after a poor stretch */

struct matom {
	const struct select *s;	/* the item's own selection (its scratch) */
	const struct item *it;
};

/* An entry and its row together, so that a hit reads one cache line
 * (two with the text) of a table too large for the nearest caches. */
struct mentry {
	uint64_t hash;
	char *text;		/* a copy of the value's text */
	uint32_t len, cap;
	char type;
	bool used;
	bool recent;		/* the newer of its two ways */
	uint64_t row[];		/* mslot.stride words */
};

struct mslot {
	int slot;		/* the scan's */
	uint32_t looks, hits;	/* in the current stretch */
	uint32_t skip;		/* records left uncached */
	struct matom *atom;	/* result bit i: atom[i] */
	size_t natom, words;
	size_t stride;		/* words of a row: 2 * words, the kills, the checked */
	uint64_t *users;	/* select_memo_list(): atom i's users[i * kw ...] */
	double *bound;		/* numbers only compared: the numbers, sorted */
	size_t nbound;		/* 0: values are looked up by their text */
	size_t cap;		/* entries in tab */
	size_t esz;		/* bytes of an entry with its row: 64 or more */
	char *tab;		/* entry i at tab + i * esz (entry()) */
	size_t last;		/* the entry of the last value looked up */
	uint64_t *tmp;		/* a row for a value not cached */
};

static inline struct mentry *
entry(const struct mslot *ms, size_t i)
{
	return (struct mentry *)(void *)(ms->tab + i * ms->esz);
}

struct select_memo {
	const uint64_t *gen;	/* scan_gen(): the current record */
	uint64_t rowgen;	/* the record row[] is for */
	uint64_t **row;		/* each slot's row for that record */
	struct mslot *slot;
	size_t nslot;
	uint64_t hits, misses;
	/* select_memo_list(): the list, and kw words of kill bits per row */
	const struct select *const *list;
	size_t nlist, kw;
	uint64_t *dead;		/* kw words: the list members ruled out */
	uint64_t *uses;		/* per list member: its slots (slot i: bit i % 64) */
};

static bool
pat_same(const struct pat *a, const struct pat *b)
{
	if (a->kind != b->kind || a->len != b->len || a->num != b->num || a->b != b->b ||
	    a->fam != b->fam || a->bits != b->bits || memcmp(a->net, b->net, sizeof(a->net)) != 0)
		return false;
	if (a->re != NULL || b->re != NULL)
		return false;	/* regexes are not compared: each is its own */
	if ((a->s == NULL) != (b->s == NULL) || (a->wild == NULL) != (b->wild == NULL))
		return false;
	return (a->s == NULL || memcmp(a->s, b->s, a->len) == 0) &&
	    (a->wild == NULL || memcmp(a->wild, b->wild, a->len) == 0);
}

/* Do items a and b always give the same result? */
static bool
item_same(const struct item *a, const struct item *b)
{
	if (a->slot != b->slot || a->op != b->op || a->cased != b->cased ||
	    a->all != b->all || a->neg != b->neg || a->exists != b->exists ||
	    a->npat != b->npat)
		return false;
	for (size_t i = 0; i < a->npat; i++)
		if (!pat_same(&a->pat[i], &b->pat[i]))
			return false;
	return true;
}

struct select_memo *
select_memo_new(struct scan *sc)
{
	struct select_memo *m = calloc(1, sizeof(*m));
	if (m != NULL)
		m->gen = scan_gen(sc);
	return m;
}

static void
mslot_clear(struct mslot *ms)
{
	if (ms->tab != NULL)
		for (size_t i = 0; i < ms->cap; i++)
			free(entry(ms, i)->text);
	free(ms->tab);
	free(ms->tmp);
	ms->tab = NULL;
	ms->tmp = NULL;
}

void
select_memo_free(struct select_memo *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nslot; i++) {
		mslot_clear(&m->slot[i]);
		free(m->slot[i].atom);
		free(m->slot[i].users);
		free(m->slot[i].bound);
	}
	free(m->dead);
	free(m->uses);
	free(m->slot);
	free(m->row);
	free(m);
}

void
select_memo_stats(const struct select_memo *m, uint64_t *hits, uint64_t *misses)
{
	*hits = m->hits;
	*misses = m->misses;
}

/* An empty table of cap entries in t (only its table fields), for rows
 * of words words of atoms (known, result) and kw of kills and of checks
 * (select_memo_list).  -1: memory, t untouched. */
static int
table_new(struct mslot *t, size_t cap, size_t words, size_t kw)
{
	size_t stride = 2 * words + 2 * kw;
	size_t esz = (sizeof(struct mentry) + stride * sizeof(uint64_t) + 63) / 64 * 64;
	char *tab = aligned_alloc(64, cap * esz);
	uint64_t *tmp = calloc(stride, sizeof(*tmp));
	if (tab == NULL || tmp == NULL) {
		free(tab);
		free(tmp);
		return -1;
	}
	memset(tab, 0, cap * esz);
	t->tab = tab;
	t->esz = esz;
	t->tmp = tmp;
	t->cap = cap;
	t->words = words;
	t->stride = stride;
	return 0;
}

/* ms's table replaced by the one table_new() made in t. */
static void
table_take(struct mslot *ms, const struct mslot *t)
{
	mslot_clear(ms);
	ms->tab = t->tab;
	ms->esz = t->esz;
	ms->tmp = t->tmp;
	ms->cap = t->cap;
	ms->words = t->words;
	ms->stride = t->stride;
	ms->last = 0;
	ms->looks = ms->hits = 0;
}

/* Give ms an empty table (table_new()).  On failure ms keeps what it
 * had. */
static int
memo_table(struct mslot *ms, size_t cap, size_t words, size_t kw)
{
	struct mslot t;
	if (table_new(&t, cap, words, kw) != 0)
		return -1;
	table_take(ms, &t);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A field whose conditions only compare numbers (gt, gte, lt, lte, equal
 * to numbers, exists) gives every number between two of the numbers
 * compared with, and every number equal to one, the same results: such
 * a class, not the text, is then what the memo looks up, so byte counts
 * and durations, which seldom repeat, are remembered too.  ms->bound
 * holds the numbers; none when any condition is of another kind. */
static void
memo_bounds(struct mslot *ms)
{
	size_t n = 0;
	free(ms->bound);
	ms->bound = NULL;
	ms->nbound = 0;
	for (size_t a = 0; a < ms->natom; a++) {
		const struct item *it = ms->atom[a].it;
		bool cmp = it->op == OP_GT || it->op == OP_GTE || it->op == OP_LT ||
		    it->op == OP_LTE;
		if (it->op == OP_EXISTS)
			continue;
		if (!cmp && it->op != OP_EQ)
			return;
		for (size_t i = 0; i < it->npat; i++)
			if (it->pat[i].kind != V_NUM)
				return;
		n += it->npat;
	}
	if (n == 0 || (ms->bound = malloc(n * sizeof(*ms->bound))) == NULL)
		return;
	for (size_t a = 0; a < ms->natom; a++) {
		const struct item *it = ms->atom[a].it;
		for (size_t i = 0; it->op != OP_EXISTS && i < it->npat; i++)
			ms->bound[ms->nbound++] = it->pat[i].num;
	}
	qsort(ms->bound, ms->nbound, sizeof(*ms->bound), cmp_double);
	n = 0;
	for (size_t i = 0; i < ms->nbound; i++)
		if (n == 0 || ms->bound[i] != ms->bound[n - 1])
			ms->bound[n++] = ms->bound[i];
	ms->nbound = n;
}

/* The class of number x among ms->bound: 2i below bound i (above the one
 * before), 2i + 1 equal to it. */
static uint32_t
number_class(const struct mslot *ms, double x)
{
	size_t i;
	for (i = 0; i < ms->nbound; i++) {
		if (x < ms->bound[i])
			return (uint32_t)(2 * i);
		if (x == ms->bound[i])
			return (uint32_t)(2 * i + 1);
	}
	return (uint32_t)(2 * i);
}

/* The atom for item it of selection s: its field's memo slot and its bit
 * there (an equal item already filed shares its bit).  -1: memory. */
static int
memo_atom(struct select_memo *m, const struct select *s, const struct item *it,
    uint32_t *mslot, size_t *bit)
{
	size_t i;
	for (i = 0; i < m->nslot && m->slot[i].slot != it->slot; i++)
		;
	if (i == m->nslot) {
		struct mslot *n = realloc(m->slot, (i + 1) * sizeof(*n));
		if (n == NULL)
			return -1;
		m->slot = n;
		uint64_t **r = realloc(m->row, (i + 1) * sizeof(*r));
		if (r == NULL)
			return -1;
		m->row = r;
		m->rowgen = 0;
		m->slot[i] = (struct mslot){ .slot = it->slot };
		m->nslot++;
	}
	struct mslot *ms = &m->slot[i];
	*mslot = (uint32_t)i;
	for (size_t a = 0; a < ms->natom; a++)
		if (item_same(ms->atom[a].it, it)) {
			*bit = a;
			return 0;
		}
	struct matom *na = realloc(ms->atom, (ms->natom + 1) * sizeof(*na));
	if (na == NULL)
		return -1;
	ms->atom = na;
	ms->atom[ms->natom++] = (struct matom){ .s = s, .it = it };
	bool classed = ms->nbound > 0;
	memo_bounds(ms);
	/* A new atom: the cache starts over when its rows need another
	 * word, and when numbers are classed (a class of the old bounds is
	 * none of the new).  Rules load before any record, so this costs
	 * nothing then. */
	size_t words = (ms->natom + 63) / 64;
	if ((words != ms->words || ms->tab == NULL || classed || ms->nbound > 0) &&
	    memo_table(ms, MEMO_MIN, words, m->kw) != 0) {
		ms->natom--;	/* as it was: its table holds rows of its classes */
		memo_bounds(ms);
		if (ms->tab == NULL) {	/* a new slot that never got a table */
			free(ms->atom);
			free(ms->bound);
			m->nslot--;
		}
		return -1;
	}
	m->rowgen = 0;
	*bit = ms->natom - 1;
	return 0;
}

/* The row of memo slot ms for the record of vals: what is known of its
 * atoms for that field's value (per word of atoms: known bits, results),
 * found in the table, or claimed there with nothing known yet. */
static uint64_t *
memo_lookup(struct select_memo *m, struct mslot *ms, struct sval *vals)
{
	uint64_t *row = ms->tmp;
	if (ms->skip > 0) {
		ms->skip--;
		goto fresh;
	}
	struct sval *v = &vals[ms->slot];
	size_t len = v->type != 0 ? v->len : 0;
	const char *text = len > 0 ? v->p : "";
	char type = v->type;
	uint32_t class;
	double x;
	if (ms->nbound > 0 && (type == '0' || type == '"') && field_number(v, &x)) {
		class = number_class(ms, x);
		text = (const char *)&class;
		len = sizeof(class);
		type = '#';	/* no JSON type: a class, never a text */
	}
	if (++ms->looks == MEMO_STRETCH) {
		/* More than one miss in sixteen: a bigger table, if it may
		 * grow (a miss costs several times a hit, and a small table
		 * little memory); else fewer than one hit in four: a rest. */
		uint32_t misses = ms->looks - ms->hits;
		if (misses > MEMO_STRETCH / 16 && ms->cap < MEMO_MAX)
			memo_table(ms, ms->cap * 4 < MEMO_MAX ? ms->cap * 4 : MEMO_MAX,
			    ms->words, m->kw);
		else if (ms->hits < MEMO_STRETCH / 4)
			ms->skip = MEMO_SKIP;
		ms->looks = ms->hits = 0;
	}
	/* The last record's value first, unhashed: values come in runs
	 * (one method, one status, one host...). */
	size_t w = ms->last;
	struct mentry *e = entry(ms, w);
	if (e->used && e->len == len && e->type == type && swar_equal(e->text, text, len))
		goto hit;
	/* Two ways: the entries at and at + 1, the older one replaced. */
	uint64_t h = hash_quick(text, len, (uint64_t)(unsigned char)type);
	size_t at = h & (ms->cap - 2);
	for (w = at; w < at + 2; w++) {
		e = entry(ms, w);
		if (e->used && e->hash == h && e->len == len && e->type == type &&
		    swar_equal(e->text, text, len))
			goto hit;
	}
	m->misses++;
	if (entry(ms, at)->recent)
		at++;
	e = entry(ms, at);
	e->used = false;	/* until it holds this value */
	if (len <= MEMO_TEXT && (e->text == NULL || e->cap < len)) {
		size_t cap = len > 16 ? len : 16;
		char *t = realloc(e->text, cap);
		if (t != NULL) {
			e->text = t;
			e->cap = (uint32_t)cap;
		}
	}
	if (len <= MEMO_TEXT && e->text != NULL && e->cap >= len) {
		memcpy(e->text, text, len);
		e->hash = h;
		e->len = (uint32_t)len;
		e->type = type;
		e->used = true;
		e->recent = true;
		entry(ms, at ^ 1)->recent = false;
		ms->last = at;
		row = e->row;
	}
fresh:
	memset(row, 0, ms->stride * sizeof(*row));	/* nothing known */
	return row;
hit:
	m->hits++;
	ms->hits++;
	e->recent = true;
	entry(ms, w ^ 1)->recent = false;
	ms->last = w;
	return e->row;
}

/* Every field's row for the record of vals. */
static __attribute__((noinline)) void
memo_begin(struct select_memo *m, struct sval *vals)
{
	m->rowgen = *m->gen;
	for (size_t i = 0; i < m->nslot; i++)
		m->row[i] = memo_lookup(m, &m->slot[i], vals);
}

/* Work out term t's atoms not yet known for the field's value, in order,
 * until one fails; they become known.  Returns whether all held. */
static __attribute__((noinline)) bool
memo_work(const struct select_memo *m, const struct term *t, uint64_t *row,
    struct sval *vals)
{
	const struct mslot *ms = &m->slot[t->mslot];
	uint64_t *known = &row[2 * t->word], *res = known + 1;
	uint64_t need = t->mask & ~*known;
	uint64_t *checked = row + 2 * ms->words + m->kw;
	for (size_t i = 0; i < m->kw; i++)
		checked[i] = 0;	/* more is known: trees may be ruled out now */
	while (need != 0) {
		unsigned b = (unsigned)__builtin_ctzll(need);
		const struct matom *a = &ms->atom[t->word * 64 + b];
		uint64_t bit = (uint64_t)1 << b;
		need &= need - 1;
		*known |= bit;
		if (item_match(a->s, a->it, vals)) {
			*res |= bit;
			continue;
		}
		if (ms->users != NULL) {	/* every list member with it is out */
			uint64_t *kill = row + 2 * ms->words;
			const uint64_t *u = &ms->users[(t->word * 64 + b) * m->kw];
			for (size_t i = 0; i < m->kw; i++)
				kill[i] |= u[i];
		}
		return false;
	}
	return true;
}

/* Do all the terms of c hold for the record of vals?  Works out what
 * is not known yet. */
static __attribute__((noinline)) bool
terms_hold(struct select_memo *m, const struct conj *c, struct sval *vals)
{
	if (__builtin_expect(m->rowgen != *m->gen, 0))
		memo_begin(m, vals);
	for (size_t i = 0; i < c->nterm; i++) {
		const struct term *t = &c->term[i];
		uint64_t *row = m->row[t->mslot] + 2 * t->word;
		if ((t->mask & ~row[0]) != 0 && !memo_work(m, t, m->row[t->mslot], vals))
			return false;
		if ((row[1] & t->mask) != t->mask)
			return false;
	}
	return true;
}

/* The terms of conjunction c: its items grouped by memo slot and word,
 * in the order of the items (cheap ones first).  On failure c keeps
 * testing its items. */
static int
memo_conj(struct select_memo *m, const struct select *s, struct conj *c)
{
	struct term *t = calloc(c->n + 1, sizeof(*t));
	size_t nt = 0;
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		uint32_t ms;
		size_t bit;
		if (memo_atom(m, s, &c->it[i], &ms, &bit) != 0) {
			free(t);
			return -1;
		}
		size_t j;
		for (j = 0; j < nt && (t[j].mslot != ms || t[j].word != bit / 64); j++)
			;
		if (j == nt)
			t[nt++] = (struct term){ .mslot = ms, .word = (uint32_t)(bit / 64) };
		t[j].mask |= (uint64_t)1 << (bit % 64);
	}
	c->term = t;
	c->nterm = nt;
	return 0;
}

int
select_memo_add(struct select_memo *m, struct select *s)
{
	if (m->list != NULL) {	/* the list's kills no longer cover every atom */
		for (size_t i = 0; i < m->nslot; i++) {
			free(m->slot[i].users);
			m->slot[i].users = NULL;
		}
		m->list = NULL;
		m->nlist = 0;
	}
	s->memo = m;
	for (size_t i = 0; i < s->nsel; i++)
		for (size_t a = 0; a < s->sel[i].n; a++)
			if (memo_conj(m, s, &s->sel[i].alt[a]) != 0)
				return -1;
	if (s->root == NULL && s->nsel == 1 && s->sel[0].n == 1)
		s->flat = &s->sel[0].alt[0];
	return 0;
}

int
select_memo_list(struct select_memo *m, const struct select *const *s, size_t n)
{
	size_t kw = (n + 63) / 64;
	uint64_t *dead = calloc(kw + 1, sizeof(*dead));
	uint64_t *uses = calloc(n + 1, sizeof(*uses));
	struct mslot *tmp = calloc(m->nslot + 1, sizeof(*tmp));
	bool ok = dead != NULL && uses != NULL && tmp != NULL;
	/* New tables and users for every slot, made aside, then swapped in. */
	for (size_t i = 0; ok && i < m->nslot; i++) {
		struct mslot *ms = &m->slot[i];
		tmp[i].users = calloc(ms->natom * kw + 1, sizeof(*tmp[i].users));
		ok = tmp[i].users != NULL && table_new(&tmp[i], MEMO_MIN, ms->words, kw) == 0;
	}
	for (size_t j = 0; ok && j < n; j++) {
		for (size_t k = 0; s[j]->memo == m && k < s[j]->nsel; k++)
			for (size_t a = 0; a < s[j]->sel[k].n; a++) {
				const struct conj *c = &s[j]->sel[k].alt[a];
				for (size_t t = 0; t < c->nterm; t++)
					uses[j] |= (uint64_t)1 << (c->term[t].mslot % 64);
			}
		const struct conj *c = s[j]->memo == m ? s[j]->flat : NULL;
		for (size_t t = 0; c != NULL && t < c->nterm; t++) {
			const struct term *te = &c->term[t];
			for (uint64_t b = te->mask; b != 0; b &= b - 1) {
				size_t atom = te->word * 64 + (size_t)__builtin_ctzll(b);
				tmp[te->mslot].users[atom * kw + j / 64] |= (uint64_t)1 << (j % 64);
			}
		}
	}
	if (ok) {
		for (size_t i = 0; i < m->nslot; i++) {
			struct mslot *ms = &m->slot[i];
			table_take(ms, &tmp[i]);
			free(ms->users);
			ms->users = tmp[i].users;
		}
		free(m->dead);
		m->dead = dead;
		free(m->uses);
		m->uses = uses;
		m->kw = kw;
		m->list = s;
		m->nlist = n;
		m->rowgen = 0;
	} else {
		for (size_t i = 0; tmp != NULL && i < m->nslot; i++) {
			mslot_clear(&tmp[i]);
			free(tmp[i].users);
		}
		free(dead);
		free(uses);
	}
	free(tmp);
	return ok ? 0 : -1;
}

/* Whether conjunction c holds, when everything it needs is known for
 * the current record (1 or 0); -1 when something must be worked out
 * (terms_hold()).  Calls nothing, so its callers stay light. */
static inline int
conj_known(const struct select_memo *m, const struct conj *c)
{
	if (m->rowgen != *m->gen)
		return -1;
	for (size_t i = 0; i < c->nterm; i++) {
		const struct term *t = &c->term[i];
		const uint64_t *row = m->row[t->mslot] + 2 * t->word;
		if ((t->mask & ~row[0]) != 0)
			return -1;
		if ((row[1] & t->mask) != t->mask)
			return 0;
	}
	return 1;
}

static inline bool
match(const struct select *s, struct sval *vals)
{
	const struct conj *c = s->flat;
	if (c == NULL)
		return select_match_tree(s, vals);
	int r = conj_known(s->memo, c);
	if (r >= 0)
		return r;
	return terms_hold(s->memo, c, vals);
}

bool
select_match(const struct select *s, struct sval *vals)
{
	return match(s, vals);
}

/* What the row of memo slot ms alone tells of conjunction c, sel and
 * node n for the current record: 0 false, 1 true, 2 not known (it
 * depends on other fields, or on conditions not worked out yet). */
static int
conj3(const struct select_memo *m, const struct conj *c, uint32_t ms)
{
	int r = c->term != NULL ? 1 : 2;
	for (size_t i = 0; i < c->nterm; i++) {
		const struct term *t = &c->term[i];
		if (t->mslot != ms) {
			r = 2;
			continue;
		}
		const uint64_t *row = m->row[ms] + 2 * t->word;
		if ((row[0] & ~row[1] & t->mask) != 0)
			return 0;
		if ((t->mask & ~row[0]) != 0)
			r = 2;
	}
	return r;
}

/* An OR (stop 1) or an AND (stop 0) of three-valued results: stop as
 * soon as one is stop, else unknown if any is. */
static int
join3(int r, int x, int stop)
{
	return r == stop || x == stop ? stop : r == 2 || x == 2 ? 2 : r;
}

static int
sel3(const struct select_memo *m, const struct sel *sel, uint32_t ms)
{
	int r = 0;
	for (size_t a = 0; a < sel->n && r != 1; a++)
		r = join3(r, conj3(m, &sel->alt[a], ms), 1);
	return r;
}

static int
node3(const struct select *s, const struct node *n, uint32_t ms)
{
	int r, stop;
	switch (n->k) {
	case N_SEL:
		return sel3(s->memo, &s->sel[n->sel], ms);
	case N_NOT:
		r = node3(s, n->kid[0], ms);
		return r == 2 ? 2 : !r;
	case N_AND:
	case N_OR:
		stop = n->k == N_OR;
		r = !stop;
		for (size_t i = 0; i < n->n && r != stop; i++)
			r = join3(r, node3(s, n->kid[i], ms), stop);
		return r;
	}
	return 2;
}

/* List member j, a condition or a selection of several alternatives,
 * did not match: each of its fields whose value alone makes it false
 * rules it out for that value from now on.  A row is read for j once
 * until more is known in it (memo_work() clears its checks).  (A plain
 * conjunction is ruled out as its conditions are worked out.) */
static __attribute__((noinline)) void
memo_rule_out(struct select_memo *m, const struct select *s, size_t j)
{
	uint64_t bit = (uint64_t)1 << (j % 64);
	for (uint32_t i = 0; i < m->nslot; i++) {
		if (!(m->uses[j] & (uint64_t)1 << (i % 64)))
			continue;
		uint64_t *kill = m->row[i] + 2 * m->slot[i].words, *checked = kill + m->kw;
		if (checked[j / 64] & bit)
			continue;
		checked[j / 64] |= bit;
		if ((s->root != NULL ? node3(s, s->root, i) : sel3(m, &s->sel[0], i)) == 0)
			kill[j / 64] |= bit;
	}
}

/* The list members no field value of the record rules out, tried in
 * order: a member is out when one of its conditions is known false for
 * the value one of its fields has (memo_work() files that). */
static __attribute__((noinline)) size_t
memo_match_list(struct select_memo *m, struct sval *vals, uint32_t *hit)
{
	if (m->rowgen != *m->gen)
		memo_begin(m, vals);
	uint64_t *dead = m->dead;
	size_t kw = m->kw, k = 0;
	memset(dead, 0, kw * sizeof(*dead));
	for (size_t i = 0; i < m->nslot; i++) {
		const uint64_t *kill = m->row[i] + 2 * m->slot[i].words;
		for (size_t w = 0; w < kw; w++)
			dead[w] |= kill[w];
	}
	for (size_t w = 0; w < kw; w++) {
		size_t left = m->nlist - w * 64;
		uint64_t live = ~dead[w] & (left >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << left) - 1);
		while (live != 0) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(live);
			live &= live - 1;
			const struct select *s = m->list[i];
			if (s->flat != NULL) {
				if (match(s, vals))
					hit[k++] = (uint32_t)i;
				continue;
			}
			if (select_match_tree(s, vals))
				hit[k++] = (uint32_t)i;
			else if (s->memo == m)
				memo_rule_out(m, s, i);
		}
	}
	return k;
}

size_t
select_match_all(const struct select *const *s, size_t n, struct sval *vals,
    uint32_t *hit)
{
	if (n > 0 && s[0]->memo != NULL && s[0]->memo->list == s && s[0]->memo->nlist == n)
		return memo_match_list(s[0]->memo, vals, hit);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (match(s[i], vals))
			hit[k++] = (uint32_t)i;
	return k;
}

/* ---- freeing ---- */

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n);
}

static void
item_free(struct item *it)
{
	for (size_t i = 0; i < it->npat; i++) {
		struct pat *p = &it->pat[i];
		free(p->s);
		free(p->wild);
		pcre2_match_data_free(p->md);
		pcre2_code_free(p->re);
	}
	free(it->pat);
}

static void
sel_free(struct sel *s)
{
	for (size_t a = 0; a < s->n; a++) {
		for (size_t i = 0; i < s->alt[a].n; i++)
			item_free(&s->alt[a].it[i]);
		free(s->alt[a].it);
		free(s->alt[a].term);
	}
	free(s->alt);
}

void
select_free(struct select *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nsel; i++)
		sel_free(&s->sel[i]);
	free(s->sel);
	node_free(s->root);
	for (size_t i = 0; i < s->nguard; i++)
		free((char *)s->guard[i].s);
	free(s->guard);
	free(s);
}

/* ---- compiling selections ---- */

static int
oom(struct sl_err *e, const struct select_ctx *cx)
{
	return err_set(e, cx->doc->file, 0, 0, "out of memory");
}

/* Resolve `\*`, `\?` and `\\`; mark the wildcards.  Other backslashes
 * are literal (Windows paths).  Returns whether any wildcard was found. */
static bool
unwild(const char *in, size_t n, char *out, uint8_t *wild, size_t *len)
{
	bool any = false;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '\\' && i + 1 < n && (in[i + 1] == '*' || in[i + 1] == '?' ||
		    in[i + 1] == '\\')) {
			out[o] = in[++i];
			wild[o++] = W_LIT;
		} else if (c == '*' || c == '?') {
			out[o] = c;
			wild[o++] = c == '*' ? W_STAR : W_ONE;
			any = true;
		} else {
			out[o] = c;
			wild[o++] = W_LIT;
		}
	}
	*len = o;
	return any;
}

static int
parse_cidr(struct pat *p, const char *text)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, p->net) == 1)
		p->fam = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->net) == 1)
		p->fam = AF_INET6;
	else
		return -1;
	unsigned max = p->fam == AF_INET ? 32 : 128;
	p->bits = max;
	if (slash != NULL) {
		char *end;
		const char *b = slash + 1;
		if (*b < '0' || *b > '9')
			return -1;
		unsigned long v = strtoul(b, &end, 10);
		if (*end != '\0' || v > max)
			return -1;
		p->bits = (unsigned)v;
	}
	return 0;
}

/* One value of a field condition. */
static int
compile_value(const struct select_ctx *cx, struct item *it, struct pat *p,
    const struct ynode *v, bool re_i, struct sl_err *e)
{
	if (v->kind != Y_SCALAR)
		return yerr(e, cx->doc, v, "a field value must be a plain value, not %s",
		    ykind_name(v));
	memset(p, 0, sizeof(*p));
	switch (it->op) {
	case OP_GT: case OP_GTE: case OP_LT: case OP_LTE:
		if (!text_number(v->str, v->len, &p->num))
			return yerr(e, cx->doc, v, "\"%s\" is not a number (gt, gte, lt and lte compare numbers)",
			    v->str);
		p->kind = V_NUM;
		return 0;
	case OP_CIDR:
		if (parse_cidr(p, v->str) != 0)
			return yerr(e, cx->doc, v, "\"%s\" is not an IPv4 or IPv6 address or CIDR block",
			    v->str);
		return 0;
	case OP_RE: {
		int code;
		PCRE2_SIZE off;
		p->kind = V_STR;
		p->re = pcre2_compile((PCRE2_SPTR)v->str, v->len,
		    PCRE2_UTF | (re_i ? PCRE2_CASELESS : 0), &code, &off, NULL);
		if (p->re == NULL) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(code, msg, sizeof(msg));
			return err_set(e, cx->doc->file, v->line,
			    v->col + (unsigned)off + (v->quoted ? 1 : 0),
			    "bad regular expression: %s", (const char *)msg);
		}
		pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);
		p->md = pcre2_match_data_create_from_pattern(p->re, NULL);
		if (p->md == NULL)
			return oom(e, cx);
		return 0;
	}
	default:
		break;
	}
	/* Plain equality: the YAML type decides (the type rules in select.h). */
	if (it->op == OP_EQ) {
		int b;
		if (yscalar_is_null(v)) {
			p->kind = V_NULL;
			return 0;
		}
		if ((b = yscalar_bool(v)) >= 0) {
			p->kind = V_BOOL;
			p->b = b == 1;
			return 0;
		}
		if (yscalar_number(v, &p->num)) {
			p->kind = V_NUM;
			return 0;
		}
	}
	p->kind = V_STR;
	p->s = malloc(v->len + 1);
	p->wild = malloc(v->len + 1);
	if (p->s == NULL || p->wild == NULL)
		return oom(e, cx);
	bool wild = unwild(v->str, v->len, p->s, p->wild, &p->len);
	if (!it->cased)
		for (size_t i = 0; i < p->len; i++)
			p->s[i] = (char)lower((unsigned char)p->s[i]);
	p->s[p->len] = '\0';
	return wild ? 1 : 0;	/* 1: the value holds wildcards */
}

/* Turn a contains/startswith/endswith value with wildcards into a glob by
 * adding the implied stars. */
static int
to_glob(struct pat *p, enum op op)
{
	bool before = op == OP_CONTAINS || op == OP_ENDS;
	bool after = op == OP_CONTAINS || op == OP_STARTS;
	size_t len = p->len + before + after;
	char *s = malloc(len + 1);
	uint8_t *w = malloc(len + 1);
	if (s == NULL || w == NULL) {
		free(s);
		free(w);
		return -1;
	}
	size_t o = 0;
	if (before) {
		s[o] = '*';
		w[o++] = W_STAR;
	}
	memcpy(s + o, p->s, p->len);
	memcpy(w + o, p->wild, p->len);
	o += p->len;
	if (after) {
		s[o] = '*';
		w[o++] = W_STAR;
	}
	s[o] = '\0';
	free(p->s);
	free(p->wild);
	p->s = s;
	p->wild = w;
	p->len = len;
	return 0;
}

static const struct select_list *
find_list(const struct select_ctx *cx, const char *name, size_t len)
{
	for (size_t i = cx->nlists; i-- > 0;)
		if (strlen(cx->lists[i].name) == len && memcmp(cx->lists[i].name, name, len) == 0)
			return &cx->lists[i];
	return NULL;
}

/* The values of a condition: a scalar, a list, or with `expand` the
 * named lists that %name% values stand for.  Fills vals (borrowed). */
static int
gather(const struct select_ctx *cx, const struct ynode *v, bool expand,
    const struct ynode ***out, size_t *n, struct sl_err *e)
{
	const struct ynode *const *src = v->kind == Y_SEQ ?
	    (const struct ynode *const *)v->item : &v;
	size_t ns = v->kind == Y_SEQ ? v->n : 1, total = 0;

	if (v->kind == Y_MAP)
		return yerr(e, cx->doc, v, "a field value must be a plain value or a list, not a mapping");
	if (ns == 0)
		return yerr(e, cx->doc, v, "an empty list of values matches nothing; remove the condition");
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ns; i++) {
			const struct ynode *s = src[i];
			const struct select_list *l = NULL;
			if (expand && s->kind == Y_SCALAR && s->len > 2 && s->str[0] == '%' &&
			    s->str[s->len - 1] == '%') {
				l = find_list(cx, s->str + 1, s->len - 2);
				if (l == NULL)
					return yerr(e, cx->doc, s, "no list named \"%.*s\" (lists: defines them)",
					    (int)(s->len - 2), s->str + 1);
			}
			if (pass == 0) {
				total += l ? l->values->n : 1;
				continue;
			}
			if (l == NULL) {
				(*out)[(*n)++] = s;
				continue;
			}
			for (size_t j = 0; j < l->values->n; j++)
				(*out)[(*n)++] = l->values->item[j];
		}
		if (pass == 0 && total == 0)
			return yerr(e, cx->doc, v, "the lists named here are empty: the condition would match nothing (or, with all, everything)");
		if (pass == 0) {
			*out = malloc((total ? total : 1) * sizeof(**out));
			*n = 0;
			if (*out == NULL)
				return oom(e, cx);
		}
	}
	return 0;
}

/* `path|mod|mod: value(s)` */
static int
compile_item(const struct select_ctx *cx, struct item *it, const struct ynode *key,
    const struct ynode *val, struct sl_err *e)
{
	char *k = key->str, *bar = strchr(k, '|');
	size_t plen = bar ? (size_t)(bar - k) : key->len;
	bool expand = false, re_i = false;
	const char *have_op = NULL;	/* the comparison modifier already given */
	char path[512];

	memset(it, 0, sizeof(*it));
	it->op = OP_EQ;
	if (plen == 0 || plen >= sizeof(path))
		return yerr(e, cx->doc, key, "a field path is missing before the modifiers");
	memcpy(path, k, plen);
	path[plen] = '\0';
	it->slot = scan_path(cx->scan, path);
	if (it->slot < 0)
		return yerr(e, cx->doc, key, "\"%s\" is not a field path (dotted names, no empty steps)",
		    path);
	static const struct { const char *name; enum op op; } ops[] = {
		{ "contains", OP_CONTAINS }, { "startswith", OP_STARTS },
		{ "endswith", OP_ENDS }, { "re", OP_RE }, { "cidr", OP_CIDR },
		{ "gt", OP_GT }, { "gte", OP_GTE }, { "lt", OP_LT }, { "lte", OP_LTE },
		{ "exists", OP_EXISTS },
	};
	while (bar != NULL) {
		char *m = bar + 1;
		bar = strchr(m, '|');
		size_t ml = bar ? (size_t)(bar - m) : strlen(m);
		unsigned col = key->col + (unsigned)(m - k) + (key->quoted ? 1 : 0);
		size_t i;
#define MOD(s) (ml == sizeof(s) - 1 && memcmp(m, s, ml) == 0)
		if (MOD("cased")) {
			it->cased = true;
		} else if (MOD("all")) {
			it->all = true;
		} else if (MOD("neq")) {
			it->neg = true;
		} else if (MOD("expand")) {
			expand = true;
		} else if (MOD("i") && it->op == OP_RE) {
			re_i = true;
		} else {
			for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
				if (strlen(ops[i].name) == ml && memcmp(ops[i].name, m, ml) == 0)
					break;
			if (i == sizeof(ops) / sizeof(ops[0]))
				return err_set(e, cx->doc->file, key->line, col,
				    "unknown modifier \"%.*s\" (contains, startswith, endswith, cased, re, i, cidr, gt, gte, lt, lte, exists, neq, all, expand)",
				    (int)ml, m);
			if (have_op != NULL)
				return err_set(e, cx->doc->file, key->line, col,
				    "modifier \"%.*s\" after \"%s\": one comparison per field condition",
				    (int)ml, m, have_op);
			have_op = ops[i].name;
			it->op = ops[i].op;
		}
#undef MOD
	}
	if (it->op == OP_EXISTS) {
		int b = yscalar_bool(val);
		if (b < 0)
			return yerr(e, cx->doc, val, "exists takes true or false");
		it->exists = b == 1;
		return 0;
	}

	const struct ynode **vals = NULL;
	size_t nv = 0;
	if (gather(cx, val, expand, &vals, &nv, e) != 0) {
		free(vals);
		return -1;
	}
	it->pat = calloc(nv, sizeof(*it->pat));
	if (it->pat == NULL) {
		free(vals);
		return oom(e, cx);
	}
	int rc = 0;
	bool wild = false;
	for (size_t i = 0; i < nv && rc == 0; i++) {
		int w = compile_value(cx, it, &it->pat[i], vals[i], re_i, e);
		it->npat = i + 1;
		if (w < 0)
			rc = -1;
		wild = wild || w == 1;
	}
	free(vals);
	if (rc != 0)
		return -1;
	/* Wildcards in any value: every text value of the item becomes a
	 * glob, with the stars its modifier implies (a glob without
	 * wildcards is plain comparison). */
	if (wild && (it->op == OP_EQ || it->op == OP_CONTAINS || it->op == OP_STARTS ||
	    it->op == OP_ENDS)) {
		for (size_t i = 0; i < it->npat; i++)
			if (it->pat[i].kind == V_STR && it->op != OP_EQ &&
			    to_glob(&it->pat[i], it->op) != 0)
				return oom(e, cx);
		it->op = OP_GLOB;
	}
	return 0;
}

/* What an item costs to test, roughly: cheap ones go first in a mapping,
 * so that a failing cheap test spares the dear ones (the result of an
 * AND does not depend on its order). */
static int
cost(const struct item *it)
{
	switch (it->op) {
	case OP_EXISTS: return 0;
	case OP_GT: case OP_GTE: case OP_LT: case OP_LTE: return 1;
	case OP_EQ: return it->npat > 0 && it->pat[0].kind != V_STR ? 1 : 2;
	case OP_STARTS: case OP_ENDS: return 3;
	case OP_CIDR: return 4;
	case OP_CONTAINS: return 5;
	case OP_GLOB: return 6;
	default: return 7;	/* OP_RE */
	}
}

static void
order_items(struct conj *c)
{
	for (size_t i = 1; i < c->n; i++) {
		struct item it = c->it[i];
		size_t j = i;
		while (j > 0 && cost(&c->it[j - 1]) > cost(&it)) {
			c->it[j] = c->it[j - 1];
			j--;
		}
		c->it[j] = it;
	}
}

static int
compile_conj(const struct select_ctx *cx, struct conj *c, const struct ynode *m,
    struct sl_err *e)
{
	if (m->kind != Y_MAP)
		return yerr(e, cx->doc, m, "a selection must be a mapping of field: value (or a list of them), not %s",
		    ykind_name(m));
	if (m->n == 0)
		return yerr(e, cx->doc, m, "an empty selection matches everything; say what to match");
	c->it = calloc(m->n / 2, sizeof(*c->it));
	if (c->it == NULL)
		return oom(e, cx);
	for (size_t i = 0; i < m->n; i += 2) {
		c->n++;
		if (compile_item(cx, &c->it[i / 2], m->item[i], m->item[i + 1], e) != 0)
			return -1;
	}
	order_items(c);
	return 0;
}

static int
compile_sel(const struct select_ctx *cx, struct sel *s, const struct ynode *n,
    struct sl_err *e)
{
	const struct ynode *const *maps = n->kind == Y_SEQ ?
	    (const struct ynode *const *)n->item : &n;
	size_t nm = n->kind == Y_SEQ ? n->n : 1;

	if (nm == 0)
		return yerr(e, cx->doc, n, "an empty list of selections matches nothing");
	s->alt = calloc(nm, sizeof(*s->alt));
	if (s->alt == NULL)
		return oom(e, cx);
	for (size_t i = 0; i < nm; i++) {
		s->n++;
		if (compile_conj(cx, &s->alt[i], maps[i], e) != 0)
			return -1;
	}
	return 0;
}

struct select *
select_where(const struct select_ctx *cx, const struct ynode *n, struct sl_err *e)
{
	struct select *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->sel = calloc(1, sizeof(*s->sel))) == NULL) {
		free(s);
		oom(e, cx);
		return NULL;
	}
	s->nsel = 1;
	s->scan = cx->scan;
	if (compile_sel(cx, &s->sel[0], n, e) != 0) {
		select_free(s);
		return NULL;
	}
	return s;
}

/* ---- the condition expression ---- */

struct parser {
	const struct select_ctx *cx;
	const struct ynode *cond;
	const char *s, *p;
	const char **names;	/* selection names, index = selection */
	size_t nnames;
	struct sl_err *e;
};

static int perr(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	unsigned col = ps->cond->col + (unsigned)(at - ps->s) + (ps->cond->quoted ? 1 : 0);
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(ps->e, ps->cx->doc->file, ps->cond->line, col, "condition: %s", msg);
}

static void
skip(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n')
		ps->p++;
}

/* The next word (identifier, with * wildcards) without consuming it. */
static size_t
word(const struct parser *ps)
{
	size_t n = 0;
	while (ps->p[n] == '_' || ps->p[n] == '*' || ps->p[n] == '-' || ps->p[n] == '.' ||
	    (ps->p[n] >= '0' && ps->p[n] <= '9') || ((ps->p[n] | 0x20) >= 'a' &&
	    (ps->p[n] | 0x20) <= 'z'))
		n++;
	return n;
}

static bool
is_word(const struct parser *ps, const char *w)
{
	size_t n = word(ps);
	return n == strlen(w) && memcmp(ps->p, w, n) == 0;
}

static struct node *
mknode(enum nkind k, int sel)
{
	struct node *n = calloc(1, sizeof(*n));
	if (n != NULL) {
		n->k = k;
		n->sel = sel;
	}
	return n;
}

static int
add_kid(struct node *n, struct node *kid)
{
	struct node **k = realloc(n->kid, (n->n + 1) * sizeof(*k));
	if (k == NULL) {
		node_free(kid);
		return -1;
	}
	n->kid = k;
	n->kid[n->n++] = kid;
	return 0;
}

static bool
name_glob(const char *pat, size_t plen, const char *name)
{
	struct pat p = { .s = (char *)pat, .len = plen };
	uint8_t wild[128];
	if (plen > sizeof(wild))
		return false;
	for (size_t i = 0; i < plen; i++)
		wild[i] = pat[i] == '*' ? W_STAR : W_LIT;
	p.wild = wild;
	return glob(&p, name, strlen(name));
}

static struct node *parse_or(struct parser *ps);

static struct node *
parse_atom(struct parser *ps)
{
	skip(ps);
	if (*ps->p == '(') {
		const char *open = ps->p++;
		struct node *n = parse_or(ps);
		if (n == NULL)
			return NULL;
		skip(ps);
		if (*ps->p != ')') {
			node_free(n);
			perr(ps, open, "%s", "this parenthesis is never closed");
			return NULL;
		}
		ps->p++;
		return n;
	}
	const char *at = ps->p;
	size_t n = word(ps);
	if (n == 0) {
		if (*at != '\0')
			perr(ps, at, "unexpected \"%.1s\"", at);
		else
			perr(ps, at, "expected a selection name at the end");
		return NULL;
	}
	bool quant_all = is_word(ps, "all"), quant_one = is_word(ps, "1") || is_word(ps, "any");
	if (quant_all || quant_one) {
		ps->p += n;
		skip(ps);
		if (!is_word(ps, "of")) {
			perr(ps, ps->p, "%s", "expected \"of\" after the quantifier");
			return NULL;
		}
		ps->p += 2;
		skip(ps);
		const char *pat = ps->p;
		size_t pl = word(ps);
		if (pl == 0) {
			perr(ps, pat, "%s", "expected a selection name, a pattern such as sel_*, or them");
			return NULL;
		}
		ps->p += pl;
		bool them = pl == 4 && memcmp(pat, "them", 4) == 0;
		struct node *g = mknode(quant_all ? N_AND : N_OR, 0);
		if (g == NULL)
			return NULL;
		for (size_t i = 0; i < ps->nnames; i++)
			if (them || name_glob(pat, pl, ps->names[i]))
				if (add_kid(g, mknode(N_SEL, (int)i)) != 0) {
					node_free(g);
					return NULL;
				}
		if (g->n == 0) {
			node_free(g);
			perr(ps, pat, "no selection matches \"%.*s\"",
			    (int)(pl > 120 ? 120 : pl), pat);
			return NULL;
		}
		return g;
	}
	for (size_t i = 0; i < ps->nnames; i++)
		if (strlen(ps->names[i]) == n && memcmp(ps->names[i], at, n) == 0) {
			ps->p += n;
			return mknode(N_SEL, (int)i);
		}
	perr(ps, at, "unknown selection \"%.*s\"", (int)(n > 120 ? 120 : n), at);
	return NULL;
}

static struct node *
parse_not(struct parser *ps)
{
	skip(ps);
	if (is_word(ps, "not")) {
		ps->p += 3;
		struct node *k = parse_not(ps);
		if (k == NULL)
			return NULL;
		struct node *n = mknode(N_NOT, 0);
		if (n == NULL || add_kid(n, k) != 0) {
			free(n);
			return NULL;
		}
		return n;
	}
	return parse_atom(ps);
}

/* and binds tighter than or; not tighter than both (Sigma's precedence). */
static struct node *
parse_bin(struct parser *ps, enum nkind k, const char *op,
    struct node *(*sub)(struct parser *))
{
	struct node *left = sub(ps);
	if (left == NULL)
		return NULL;
	skip(ps);
	if (!is_word(ps, op))
		return left;
	struct node *n = mknode(k, 0);
	if (n == NULL || add_kid(n, left) != 0) {
		free(n);
		return NULL;
	}
	while (skip(ps), is_word(ps, op)) {
		ps->p += strlen(op);
		struct node *r = sub(ps);
		if (r == NULL || add_kid(n, r) != 0) {
			node_free(n);
			return NULL;
		}
	}
	return n;
}

static struct node *
parse_and(struct parser *ps)
{
	return parse_bin(ps, N_AND, "and", parse_not);
}

static struct node *
parse_or(struct parser *ps)
{
	return parse_bin(ps, N_OR, "or", parse_and);
}

struct select *
select_detection(const struct select_ctx *cx, const struct ynode *n, struct sl_err *e)
{
	if (n->kind != Y_MAP) {
		yerr(e, cx->doc, n, "detection must be a mapping of named selections and a condition, not %s",
		    ykind_name(n));
		return NULL;
	}
	const struct ynode *cond = ymap_get(n, "condition");
	if (cond == NULL) {
		yerr(e, cx->doc, n, "detection has no condition");
		return NULL;
	}
	if (cond->kind != Y_SCALAR) {
		yerr(e, cx->doc, cond, "condition must be an expression such as \"sel and not filter\"");
		return NULL;
	}
	struct select *s = calloc(1, sizeof(*s));
	const char **names = calloc(n->n / 2 + 1, sizeof(*names));
	if (s == NULL || names == NULL ||
	    (s->sel = calloc(n->n / 2 + 1, sizeof(*s->sel))) == NULL) {
		free(s);
		free(names);
		oom(e, cx);
		return NULL;
	}
	s->scan = cx->scan;
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *k = n->item[i];
		if (strcmp(k->str, "condition") == 0)
			continue;
		names[s->nsel] = k->str;
		s->nsel++;
		if (compile_sel(cx, &s->sel[s->nsel - 1], n->item[i + 1], e) != 0)
			goto fail;
	}
	if (s->nsel == 0) {
		yerr(e, cx->doc, n, "detection names no selection");
		goto fail;
	}
	struct parser ps = { .cx = cx, .cond = cond, .s = cond->str, .p = cond->str,
		.names = names, .nnames = s->nsel, .e = e };
	s->root = parse_or(&ps);
	if (s->root == NULL)
		goto fail;
	skip(&ps);
	if (*ps.p != '\0') {
		perr(&ps, ps.p, "unexpected \"%s\"", ps.p);
		goto fail;
	}
	free(names);
	return s;
fail:
	free(names);
	select_free(s);
	return NULL;
}
