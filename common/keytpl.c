/*
 * keytpl.c - compile key templates once; render them per record from the
 * member spans jscan() found.
 *
 * The hot path is a string or number field of the top level: a linear
 * search of the members and a copy.  Only an object or array value goes
 * through jansson, to sort its keys.
 */
#include "keytpl.h"
#include "jstr.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int
add_part(struct keytpl *t, const char *s, size_t n, bool field)
{
	struct keytpl_part *p = realloc(t->part, (t->nparts + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	t->part = p;
	p += t->nparts;
	if ((p->text = malloc(n + 1)) == NULL)
		return -1;
	memcpy(p->text, s, n);
	p->text[n] = '\0';
	p->len = n;
	p->is_field = field;
	t->nparts++;
	t->nfields += field;
	return 0;
}

int
keytpl_compile(struct keytpl *t, const char *text, struct sl_err *e)
{
	size_t n = strlen(text), i = 0;
	char *lit = malloc(n + 1);
	size_t nl = 0;

	memset(t, 0, sizeof(*t));
	if (lit == NULL)
		return err_set(e, NULL, 0, 0, "out of memory");
	while (i < n) {
		char c = text[i];
		if ((c == '{' || c == '}') && i + 1 < n && text[i + 1] == c) {
			lit[nl++] = c;
			i += 2;
			continue;
		}
		if (c != '{') {
			lit[nl++] = c;
			i++;
			continue;
		}
		const char *end = memchr(text + i + 1, '}', n - i - 1);
		if (end == NULL) {
			free(lit);
			keytpl_free(t);
			return err_set(e, NULL, 1, (unsigned)i + 1, "unclosed '{' (write '{{' for a brace)");
		}
		size_t plen = (size_t)(end - text) - i - 1;
		if (plen == 0 || memchr(text + i + 1, '{', plen) != NULL) {
			free(lit);
			keytpl_free(t);
			return err_set(e, NULL, 1, (unsigned)i + 1, plen == 0 ?
			    "empty field name '{}'" : "'{' inside a field name");
		}
		if ((nl > 0 && add_part(t, lit, nl, false) != 0) ||
		    add_part(t, text + i + 1, plen, true) != 0) {
			free(lit);
			keytpl_free(t);
			return err_set(e, NULL, 0, 0, "out of memory");
		}
		nl = 0;
		i += plen + 2;
	}
	if (nl > 0 && add_part(t, lit, nl, false) != 0) {
		free(lit);
		keytpl_free(t);
		return err_set(e, NULL, 0, 0, "out of memory");
	}
	free(lit);
	return 0;
}

void
keytpl_free(struct keytpl *t)
{
	for (size_t i = 0; i < t->nparts; i++)
		free(t->part[i].text);
	free(t->part);
	free(t->scratch);
	memset(t, 0, sizeof(*t));
}

static const struct jscan_member *
find_key(const struct jscan_member *m, size_t count, const char *k, size_t n)
{
	for (size_t i = 0; i < count; i++) {
		/* Same length: the bytes must agree and hold no escape (an
		 * escaped key decodes to fewer bytes).  Longer: it may be an
		 * escaped spelling, which is rare. */
		if (m[i].klen == n) {
			if (memcmp(m[i].key, k, n) == 0 && memchr(k, '\\', n) == NULL)
				return &m[i];
		} else if (m[i].klen > n && n > 0 &&
		    (m[i].key[0] == k[0] || m[i].key[0] == '\\') &&
		    jstr_equal(m[i].key, m[i].klen, k, n)) {
			/* (The first decoded byte is the first byte, or comes
			 * from an escape: a cheap test that spares most keys
			 * the full one.) */
			return &m[i];
		}
	}
	return NULL;
}

/* The members of a nested object, in the scratch array (grown to fit). */
static const struct jscan_member *
members_of(struct keytpl *t, const struct jscan_member *obj, size_t *count)
{
	size_t c = jscan_members(obj->val, obj->vlen, t->scratch, t->nscratch);
	if (c > t->nscratch) {
		struct jscan_member *m = realloc(t->scratch, c * sizeof(*m));
		if (m == NULL) {
			*count = t->nscratch;	/* the first ones only */
			return t->scratch;
		}
		t->scratch = m;
		t->nscratch = c;
		c = jscan_members(obj->val, obj->vlen, t->scratch, t->nscratch);
	}
	*count = c;
	return t->scratch;
}

bool
keytpl_get(struct keytpl *t, const struct jscan_member *m, size_t count,
    const char *p, size_t n, struct jscan_member *found)
{
	size_t i = 0;

	for (;;) {
		const struct jscan_member *v = find_key(m, count, p + i, n - i);
		if (v != NULL) {
			*found = *v;
			return true;
		}
		/* The longest prefix before a dot that names an object. */
		const struct jscan_member *next = NULL;
		size_t j = n;
		while (j > i) {
			while (j > i && p[j - 1] != '.')
				j--;
			if (j <= i)
				break;
			next = find_key(m, count, p + i, j - 1 - i);
			if (next != NULL && next->type == '{')
				break;
			next = NULL;
			j--;
		}
		if (next == NULL)
			return false;
		/* next may live in the scratch array that members_of() refills:
		 * copy it out first. */
		struct jscan_member obj = *next;
		m = members_of(t, &obj, &count);
		i = j;
	}
}

static int
render_value(const struct jscan_member *v, struct jw *out)
{
	switch (v->type) {
	case '"': {
		char *o = jw_reserve(out, v->vlen);
		if (o == NULL)
			return -1;
		out->len += jstr_unescape(v->val + 1, v->vlen - 2, o);
		return 0;
	}
	case '{':
	case '[': {
		json_t *j = json_loadb(v->val, v->vlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT |
		    JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		if (s == NULL)
			return -1;
		jw_bytes(out, s, strlen(s));
		free(s);
		return out->err ? -1 : 0;
	}
	default:
		jw_bytes(out, v->val, v->vlen);
		return out->err ? -1 : 0;
	}
}

int
keytpl_render(struct keytpl *t, const struct jscan_member *m, size_t count,
    struct jw *out)
{
	int missing = 0;

	for (size_t i = 0; i < t->nparts; i++) {
		const struct keytpl_part *p = &t->part[i];
		struct jscan_member v;
		if (!p->is_field) {
			jw_bytes(out, p->text, p->len);
		} else if (!keytpl_get(t, m, count, p->text, p->len, &v)) {
			missing++;
		} else if (render_value(&v, out) != 0) {
			return -1;
		}
	}
	return out->err ? -1 : missing;
}
