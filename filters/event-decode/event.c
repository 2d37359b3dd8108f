/*
 * event.c - the field table, the nesting emitter, and the value and time
 * helpers every format shares.
 *
 * The emitter sorts the fields by path with '.' ordered before every other
 * byte, so the fields of one object are always adjacent ("source" <
 * "source.ip" < "source.port" < "source-x"); writing nested JSON is then a
 * single pass that closes and opens objects as the prefix changes.  Parsers
 * mostly add fields in order already, and insertion sort is linear on
 * sorted input.
 */
#include "event.h"
#include "swar.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 1024
#define TRANS_MAX 96

/* The bytes between the value of a field with path `prev` (NULL: the
 * record's opening brace) and the value of one with path `cur`: closing
 * braces, a comma, opening braces with their keys, and cur's key. */
struct transition {
	const char *prev, *cur;
	uint8_t len;
	uint8_t depth;		/* objects open after it, the record's own included */
	char bytes[TRANS_MAX];	/* copied whole: a fixed size copies fastest */
};

/* Fields with stable paths arrive in the same few orders line after line
 * (a format adds them in code order), so the permutation that sorts them
 * is remembered per sequence of path pointers and replayed. */
#define MEMO_MAX 40
#define MEMO_SLOTS 256

struct sortmemo {
	uint64_t key;
	unsigned n;
	const char *paths[MEMO_MAX];
	uint8_t ord[MEMO_MAX];
	/* The whole record's shape, when every field is plain: the
	 * transition before each field in sorted order. */
	bool shaped;
	struct {
		uint8_t len, depth;
		char bytes[TRANS_MAX];
	} t[MEMO_MAX];
};

int
event_init(struct event *ev, size_t max_line)
{
	memset(ev, 0, sizeof(*ev));
	/* Room for every byte of a line rewritten, plus formatted times and
	 * the joined lines of a multiline event. */
	ev->cap = 2 * max_line + 4096;
	ev->scratch = malloc(ev->cap);
	ev->cache = calloc(CACHE_SLOTS, sizeof(struct transition));
	ev->memo = calloc(MEMO_SLOTS, sizeof(struct sortmemo));
	return ev->scratch == NULL || ev->cache == NULL || ev->memo == NULL ? -1 : 0;
}

void
event_free(struct event *ev)
{
	free(ev->scratch);
	free(ev->cache);
	free(ev->memo);
	ev->memo = NULL;
	ev->scratch = NULL;
	ev->cache = NULL;
}

void
event_clear(struct event *ev)
{
	ev->n = 0;
	ev->overflow = false;
	ev->has_ts = false;
	ev->used = 0;
	ev->why = NULL;
	ev->plain_lo = ev->plain_hi = 0;
	ev->slices = false;
}

char *
ev_alloc(struct event *ev, size_t n)
{
	if (ev->cap - ev->used < n)
		return NULL;
	char *p = ev->scratch + ev->used;
	ev->used += n;
	return p;
}

void
ev_field(struct event *ev, const char *path, size_t plen, uint8_t type,
    const char *v, size_t n)
{
	ev_add(ev, path, plen, type, v, n, false);
}

void
ev_field_stable(struct event *ev, const char *path, size_t plen, uint8_t type,
    const char *v, size_t n)
{
	ev_add(ev, path, plen, type, v, n, true);
}

struct field *
ev_find(struct event *ev, const char *path)
{
	size_t len = strlen(path);
	for (unsigned i = 0; i < ev->n; i++)
		if (ev->f[i].plen == len && memcmp(ev->f[i].path, path, len) == 0)
			return &ev->f[i];
	return NULL;
}

bool
is_json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 40)
		return false;
	if (s[i] == '-')
		i++;
	if (i >= n)
		return false;
	size_t digits = i;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	/* Integers must fit in 64 bits and exponents stay far from the
	 * double range's ends, or readers such as jansson refuse them. */
	if (i - digits > 18)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d || i - d > 3 || (i - d == 3 && s[d] > '2'))
			return false;
	}
	return i == n;
}

bool
parse_uint(const char *s, size_t n, int64_t *v)
{
	int64_t x = 0;
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

bool
is_ip(const char *s, size_t n)
{
	char tmp[64];
	unsigned char addr[16];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	/* IPv4 by hand: it is the common case and inet_pton needs a copy. */
	if (s[0] >= '0' && s[0] <= '9') {
		unsigned parts = 0, val = 0, digits = 0;
		size_t i;
		for (i = 0; i < n; i++) {
			if (s[i] >= '0' && s[i] <= '9') {
				val = val * 10 + (unsigned)(s[i] - '0');
				if (++digits > 3 || val > 255)
					break;
			} else if (s[i] == '.' && digits > 0 && parts < 3) {
				parts++;
				val = digits = 0;
			} else {
				break;
			}
		}
		if (i == n)
			return parts == 3 && digits > 0;
		if (memchr(s, ':', n) == NULL)
			return false;	/* not IPv6 either */
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *pct = strchr(tmp, '%');	/* fe80::1%eth0: a zone index */
	if (pct != NULL) {
		/* Interface names only, so the address never needs escaping. */
		if (pct[1] == '\0' || pct[strspn(pct + 1, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") + 1] != '\0')
			return false;
		*pct = '\0';
	}
	return inet_pton(AF_INET6, tmp, addr) == 1;
}

/* --- the emitter -------------------------------------------------------- */

static int
pcmp(const struct field *a, const struct field *b)
{
	size_t n = a->plen < b->plen ? a->plen : b->plen, i = 0;

	if (a->path == b->path)
		return (int)a->plen - (int)b->plen;
	/* Skip the shared prefix eight bytes at a time (paths share long
	 * prefixes: http.response.body.bytes, http.response.status_code). */
	while (i + 8 <= n) {
		uint64_t x, y;
		memcpy(&x, a->path + i, 8);
		memcpy(&y, b->path + i, 8);
		if (x != y)
			break;
		i += 8;
	}
	for (; i < n; i++) {
		unsigned ca = (unsigned char)a->path[i], cb = (unsigned char)b->path[i];
		if (ca == cb)
			continue;
		if (ca == '.')
			ca = 1;
		if (cb == '.')
			cb = 1;
		return (int)ca - (int)cb;
	}
	return (int)a->plen - (int)b->plen;
}

static void
value(struct jw *w, const struct field *f)
{
	switch (f->type) {
	case V_STR: jw_str(w, f->v, f->vlen); break;
	case V_PLAIN: jw_str_plain(w, f->v, f->vlen); break;
	case V_INT: jw_int(w, f->i); break;
	case V_TRUE: jw_bool(w, true); break;
	default: jw_raw(w, f->v, f->vlen); break;
	}
}

/* A value written straight into reserved space (6 bytes per byte of a
 * string, 32 more). */
static inline char *
put_value(char *o, const struct field *f, uintptr_t plain_lo, uintptr_t plain_hi)
{
	switch (f->type) {
	case V_STR:
		*o++ = '"';
		/* A slice of a line known to hold nothing to escape is copied. */
		if ((uintptr_t)f->v >= plain_lo && (uintptr_t)f->v + f->vlen <= plain_hi) {
			memcpy(o, f->v, f->vlen);
			o += f->vlen;
		} else {
			o = jw_escape_to(o, f->v, f->vlen);
		}
		*o++ = '"';
		return o;
	case V_PLAIN:
		*o++ = '"';
		memcpy(o, f->v, f->vlen);
		o += f->vlen;
		*o++ = '"';
		return o;
	case V_INT:
		return jw_int_to(o, f->i);
	case V_TRUE:
		memcpy(o, "true", 4);
		return o + 4;
	default:
		memcpy(o, f->v, f->vlen);
		return o + f->vlen;
	}
}

/* Is a's path a parent of b's (b starts with a's path and a dot)? */
static bool
parent_of(const struct field *a, const struct field *b)
{
	return b->plen > a->plen && b->path[a->plen] == '.' &&
	    memcmp(a->path, b->path, a->plen) == 0;
}

/* Number of parent objects of a path (its dots). */
static unsigned
parents(const char *p, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '.';
	return k;
}

/* Build the transition from prev (or the start) to cur into t.  Paths of
 * stable fields are literals or capture names, which need no escaping.
 * Returns false when it does not fit. */
static bool
build(struct transition *t, const struct field *prev, const struct field *cur)
{
	const char *q = cur->path, *qe = q + cur->plen;
	size_t len = 0;
	unsigned dq = parents(cur->path, cur->plen), common = 0;

	if (prev != NULL) {
		const char *p = prev->path, *pe = p + prev->plen;
		unsigned dp = parents(prev->path, prev->plen);
		/* Shared parent components. */
		while (common < dp && common < dq) {
			const char *pd = memchr(p, '.', (size_t)(pe - p));
			const char *qd = memchr(q, '.', (size_t)(qe - q));
			if (pd - p != qd - q || memcmp(p, q, (size_t)(pd - p)) != 0)
				break;
			p = pd + 1;
			q = qd + 1;
			common++;
		}
		for (unsigned k = common; k < dp; k++) {
			if (len >= TRANS_MAX)
				return false;
			t->bytes[len++] = '}';
		}
		if (len >= TRANS_MAX)
			return false;
		t->bytes[len++] = ',';
	}
	for (;;) {
		const char *qd = memchr(q, '.', (size_t)(qe - q));
		size_t cn = qd ? (size_t)(qd - q) : (size_t)(qe - q);
		if (len + cn + 4 > TRANS_MAX)
			return false;
		t->bytes[len++] = '"';
		memcpy(t->bytes + len, q, cn);
		len += cn;
		t->bytes[len++] = '"';
		t->bytes[len++] = ':';
		if (qd == NULL)
			break;
		t->bytes[len++] = '{';
		q = qd + 1;
	}
	t->prev = prev ? prev->path : NULL;
	t->cur = cur->path;
	t->len = (uint8_t)len;
	t->depth = (uint8_t)(1 + dq);
	return true;
}

static void
insertion_sort(const struct field *f, uint8_t *ord, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ord[i] = (uint8_t)i;
	for (unsigned i = 1; i < n; i++) {
		uint8_t cur = ord[i];
		unsigned j = i;
		while (j > 0 && pcmp(&f[ord[j - 1]], &f[cur]) > 0) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = cur;
	}
}

/* Put the fields in the order ord gives. */
static void
permute(struct field *f, const uint8_t *ord, unsigned n)
{
	struct field tmp[EV_MAX_FIELDS];

	memcpy(tmp, f, n * sizeof(*f));
	for (unsigned i = 0; i < n; i++)
		f[i] = tmp[ord[i]];
}

/* Record the shape of a sorted sequence in m, if every field is plain. */
static void
shape(struct sortmemo *m, const struct field *f, unsigned n)
{
	struct transition t;

	m->shaped = false;
	if (n == 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		const struct field *cur = &f[m->ord[i]];
		const struct field *prev = i ? &f[m->ord[i - 1]] : NULL;
		if (prev != NULL && (pcmp(prev, cur) == 0 || parent_of(prev, cur)))
			return;
		if (!build(&t, prev, cur))
			return;
		m->t[i].len = t.len;
		m->t[i].depth = t.depth;
		memcpy(m->t[i].bytes, t.bytes, TRANS_MAX);
	}
	m->shaped = true;
}

/* Sort the fields by path.  Returns the memo entry when the record's shape
 * is known: then the fields stay where they are and the entry's ord gives
 * their order; otherwise f itself is sorted and NULL returned. */
static const struct sortmemo *
sort_fields(struct event *ev)
{
	struct field *f = ev->f;
	unsigned n = ev->n;
	uint8_t ord[EV_MAX_FIELDS];

	if (n <= MEMO_MAX) {
		uint64_t key = n;
		bool stable = true;
		for (unsigned i = 0; i < n; i++) {
			stable = stable && f[i].stable;
			key = (key ^ (uint64_t)(uintptr_t)f[i].path) * 0x9e3779b97f4a7c15ULL;
		}
		if (stable) {
			struct sortmemo *m = &ev->memo[(key >> 40) % MEMO_SLOTS];
			bool hit = m->key == key && m->n == n;
			for (unsigned i = 0; hit && i < n; i++)
				hit = m->paths[i] == f[i].path;
			if (!hit) {
				insertion_sort(f, m->ord, n);
				m->key = key;
				m->n = n;
				for (unsigned i = 0; i < n; i++)
					m->paths[i] = f[i].path;
				shape(m, f, n);
			}
			if (m->shaped)
				return m;
			permute(f, m->ord, n);
			return NULL;
		}
	}
	insertion_sort(f, ord, n);
	permute(f, ord, n);
	return NULL;
}

/* Write a record of known shape: transitions and values, nothing else. */
static void
emit_shaped(const struct event *ev, const struct sortmemo *m, struct jw *w)
{
	size_t need = 2;
	for (unsigned i = 0; i < m->n; i++)
		need += TRANS_MAX + 32 + 6 * (size_t)ev->f[i].vlen;
	jw_obj_open(w);
	char *o = jw_reserve(w, need);
	if (o == NULL)
		return;
	/* Locals: stores through o (a char pointer) may alias ev. */
	const uintptr_t lo = ev->plain_lo, hi = ev->plain_hi;
	for (unsigned i = 0; i < m->n; i++) {
		/* Fixed-size copies; most transitions fit the short one. */
		if (m->t[i].len <= 32)
			memcpy(o, m->t[i].bytes, 32);
		else
			memcpy(o, m->t[i].bytes, TRANS_MAX);
		o = put_value(o + m->t[i].len, &ev->f[m->ord[i]], lo, hi);
	}
	for (unsigned k = 1; k < m->t[m->n - 1].depth; k++)
		*o++ = '}';
	w->len = (size_t)(o - w->buf);
	w->depth = 1;
	w->comma = 3;
	w->after_key = false;
	jw_obj_close(w);
	jw_end(w);
}

/*
 * Two ways to write a field.  The fast way, for a field whose path and the
 * previous field's path are stable pointers, copies the cached transition
 * and sets the writer's nesting state to what it implies.  The general way
 * keeps a stack of open objects and handles what the fast way leaves out:
 * paths that live in the line, repeated paths (an array), and a value
 * whose path is also a parent (the "_" key).  The stack is rebuilt from
 * the previous path whenever the general way follows the fast one.
 */
void
event_plain(struct event *ev, const char *s, size_t n)
{
	if (ev->slices && json_plain_span(s, n) == n) {
		ev->plain_lo = (uintptr_t)s;
		ev->plain_hi = (uintptr_t)s + n;
	}
}

void
event_emit(struct event *ev, struct jw *w)
{
	struct field *f = ev->f;
	unsigned n = ev->n;
	struct { const char *p; uint32_t len; } open[32];
	unsigned depth = 0;		/* objects open below the record */
	bool stack_ok = true, prev_plain = true;

	const struct sortmemo *m = sort_fields(ev);
	if (m != NULL) {
		emit_shaped(ev, m, w);
		return;
	}
	jw_obj_open(w);
	for (unsigned i = 0; i < n; i++) {
		/* Plain: neither repeated by the next field nor its parent.
		 * Sorted neighbours mostly differ in their first byte. */
		bool plain = i + 1 >= n || f[i + 1].path[0] != f[i].path[0] ||
		    !(f[i + 1].plen == f[i].plen ?
		    memcmp(f[i + 1].path, f[i].path, f[i].plen) == 0 :
		    parent_of(&f[i], &f[i + 1]));

		if (plain && prev_plain && f[i].stable && (i == 0 || f[i - 1].stable)) {
			const struct field *prev = i ? &f[i - 1] : NULL;
			uintptr_t h = ((uintptr_t)(prev ? prev->path : NULL) * 31 +
			    (uintptr_t)f[i].path) * 0x9e3779b97f4a7c15ULL;
			struct transition *t = &ev->cache[(h >> 40) % CACHE_SLOTS];
			if ((t->cur == f[i].path && t->prev == (prev ? prev->path : NULL)) ||
			    build(t, prev, &f[i])) {
				char *o = jw_reserve(w, TRANS_MAX + 6 * (size_t)f[i].vlen + 32);
				if (o == NULL)
					return;
				memcpy(o, t->bytes, TRANS_MAX);
				o = put_value(o + t->len, &f[i], ev->plain_lo, ev->plain_hi);
				w->len = (size_t)(o - w->buf);
				w->depth = t->depth;
				w->comma = ((uint64_t)2 << t->depth) - 1;
				w->after_key = false;
				depth = t->depth - 1u;
				stack_ok = false;
				continue;
			}
			t->cur = NULL;
		}
		prev_plain = plain;

		const char *p = f[i].path, *end = p + f[i].plen;
		unsigned k = 0;

		if (!stack_ok) {
			/* Open objects: the parents of the previous path. */
			const char *q = f[i - 1].path, *qe = q + f[i - 1].plen, *dot;
			depth = 0;
			while ((dot = memchr(q, '.', (size_t)(qe - q))) != NULL &&
			    depth < sizeof(open) / sizeof(open[0])) {
				open[depth].p = q;
				open[depth].len = (uint32_t)(dot - q);
				depth++;
				q = dot + 1;
			}
			stack_ok = true;
		}
		/* Keep the open objects this path shares. */
		while (k < depth) {
			const char *dot = memchr(p, '.', (size_t)(end - p));
			if (dot == NULL || (size_t)(dot - p) != open[k].len ||
			    memcmp(p, open[k].p, open[k].len) != 0)
				break;
			p = dot + 1;
			k++;
		}
		while (depth > k) {
			jw_obj_close(w);
			depth--;
		}
		/* Open the rest of its parents. */
		const char *dot;
		while ((dot = memchr(p, '.', (size_t)(end - p))) != NULL &&
		    depth < sizeof(open) / sizeof(open[0])) {
			jw_key(w, p, (size_t)(dot - p));
			jw_obj_open(w);
			open[depth].p = p;
			open[depth].len = (uint32_t)(dot - p);
			depth++;
			p = dot + 1;
		}
		size_t leaf = (size_t)(end - p);
		unsigned same = 1;
		while (i + same < n && f[i + same].plen == f[i].plen &&
		    memcmp(f[i + same].path, f[i].path, f[i].plen) == 0)
			same++;
		if (i + same < n && parent_of(&f[i], &f[i + same]) &&
		    depth < sizeof(open) / sizeof(open[0])) {
			jw_key(w, p, leaf);
			jw_obj_open(w);
			open[depth].p = p;
			open[depth].len = (uint32_t)leaf;
			depth++;
			p = "_";
			leaf = 1;
		}
		jw_key(w, p, leaf);
		if (same == 1) {
			value(w, &f[i]);
		} else {
			jw_arr_open(w);
			for (unsigned s = 0; s < same; s++)
				value(w, &f[i + s]);
			jw_arr_close(w);
			i += same - 1;
		}
	}
	while (depth > 0) {
		jw_obj_close(w);
		depth--;
	}
	jw_obj_close(w);
	jw_end(w);
}

/* --- time --------------------------------------------------------------- */

static int
dig2(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "hh:mm:ss[.frac]" at s; returns chars read or 0; adds ms of the day. */
static size_t
clock_time(const char *s, size_t n, int64_t *ms)
{
	if (n < 8 || s[2] != ':' || s[5] != ':')
		return 0;
	int h = dig2(s), m = dig2(s + 3), sec = dig2(s + 6);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
		return 0;
	if (sec == 60)
		sec = 59;
	*ms = ((int64_t)h * 3600 + m * 60 + sec) * 1000;
	size_t i = 8;
	if (i < n && (s[i] == '.' || s[i] == ',') && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
		int scale = 100, frac = 0;
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		*ms += frac;
	}
	return i;
}

static int
year_of(int64_t ms)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(ms / 86400000, &y, &m, &d);
	return (int)y;
}

/* "Mmm dd" or "Mmm  d" or "Mmm d": month and day; chars read or 0. */
static size_t
month_day(const char *s, size_t n, unsigned *mon, unsigned *day)
{
	if (n < 5 || s[3] != ' ')
		return 0;
	*mon = month_from_abbr(s);
	if (*mon == 0)
		return 0;
	size_t i = 4;
	if (s[i] == ' ')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	unsigned d = (unsigned)(s[i++] - '0');
	if (i < n && s[i] >= '0' && s[i] <= '9')
		d = d * 10 + (unsigned)(s[i++] - '0');
	if (d < 1 || d > 31)
		return 0;
	*day = d;
	return i;
}

/* "Mmm dd hh:mm:ss[.frac]", the stamp of syslog and the heart of asctime:
 * chars read, or 0. */
static size_t
month_day_clock(const char *s, size_t n, unsigned *mon, unsigned *day, int64_t *tod)
{
	size_t i = month_day(s, n, mon, day);
	if (i == 0 || i >= n || s[i] != ' ')
		return 0;
	i++;
	size_t t = clock_time(s + i, n - i, tod);
	return t == 0 ? 0 : i + t;
}

size_t
ts_syslog(struct decode_ctx *c, const char *s, size_t n, int64_t *ms)
{
	unsigned mon, day;
	int64_t tod;
	size_t i = month_day_clock(s, n, &mon, &day, &tod);

	if (i == 0)
		return 0;
	if (c->cur_year == 0) {
		c->cur_year = c->year ? c->year : year_of(c->now_ms);
		if (!c->year) {
			int64_t guess = days_from_civil(c->cur_year, mon, day) * 86400000 + tod;
			if (guess > c->now_ms + 7 * 86400000LL)
				c->cur_year--;
		}
	} else if (c->last_month && mon + 6 <= c->last_month) {
		c->cur_year++;	/* back in time by half a year or more: New Year */
	}
	c->last_month = mon;
	int64_t local = days_from_civil(c->cur_year, mon, day) * 86400000 + tod;
	*ms = tz_local_to_utc(&c->tz, local);
	return i;
}

size_t
ts_clf(const char *s, size_t n, int64_t *ms)
{
	/* 10/Oct/2000:13:55:36 -0700 */
	if (n < 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[20] != ' ')
		return 0;
	int d = dig2(s);
	unsigned mon = month_from_abbr(s + 3);
	int yh = dig2(s + 7), yl = dig2(s + 9);
	int64_t tod;
	if (d < 1 || d > 31 || mon == 0 || yh < 0 || yl < 0 ||
	    clock_time(s + 12, 8, &tod) != 8)
		return 0;
	if ((s[21] != '+' && s[21] != '-'))
		return 0;
	int oh = dig2(s + 22), om = dig2(s + 24);
	if (oh < 0 || om < 0)
		return 0;
	int64_t off = ((int64_t)oh * 60 + om) * 60000;
	int64_t t = days_from_civil(yh * 100 + yl, mon, (unsigned)d) * 86400000 + tod;
	*ms = s[21] == '+' ? t - off : t + off;
	return 26;
}

size_t
ts_iso(struct decode_ctx *c, const char *s, size_t n, int64_t *ms)
{
	bool zone;
	size_t used = rfc3339_scan(s, n, ms, &zone);
	if (used > 0 && !zone)
		*ms = tz_local_to_utc(&c->tz, *ms);
	return used;
}

/* "Sun Dec 04 04:47:44 2005", with or without the weekday, with or
 * without a fraction of a second. */
static size_t
ts_asctime(struct decode_ctx *c, const char *s, size_t n, int64_t *ms)
{
	size_t i = 0;
	unsigned mon, day;
	int64_t tod;

	if (n >= 4 && s[3] == ' ' && month_from_abbr(s) == 0)
		i = 4;	/* a weekday */
	size_t mdc = month_day_clock(s + i, n - i, &mon, &day, &tod);
	if (mdc == 0)
		return 0;
	i += mdc;
	if (i + 5 > n || s[i] != ' ')
		return 0;
	int yh = dig2(s + i + 1), yl = dig2(s + i + 3);
	if (yh < 0 || yl < 0)
		return 0;
	i += 5;
	int64_t local = days_from_civil(yh * 100 + yl, mon, day) * 86400000 + tod;
	*ms = tz_local_to_utc(&c->tz, local);
	return i;
}

bool
ts_any(struct decode_ctx *c, const char *s, size_t n, int64_t *ms)
{
	int64_t v;

	if (n == 0)
		return false;
	if (ts_iso(c, s, n, ms) == n || ts_clf(s, n, ms) == n ||
	    ts_asctime(c, s, n, ms) == n)
		return true;
	/* Epoch seconds (10 digits) or milliseconds (13), with a fraction. */
	size_t digits = 0;
	while (digits < n && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if ((digits == 10 || digits == 13) && parse_uint(s, digits, &v)) {
		if (digits == n) {
			*ms = digits == 10 ? v * 1000 : v;
			return true;
		}
		if (digits == 10 && s[digits] == '.' && digits + 1 < n) {
			int64_t frac = 0, scale = 100;
			for (size_t i = digits + 1; i < n; i++) {
				if (s[i] < '0' || s[i] > '9')
					return false;
				frac += (s[i] - '0') * scale;
				scale /= 10;
			}
			*ms = v * 1000 + frac;
			return true;
		}
	}
	/* Syslog last: it moves the year-inference state. */
	struct decode_ctx save = *c;
	if (ts_syslog(c, s, n, ms) == n)
		return true;
	*c = save;
	return false;
}
