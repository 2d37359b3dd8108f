/*
 * output.c - a record written as its verdict says: byte for byte, or with
 * a "rate" object spliced in before its closing brace, to stdout or the
 * divert file.
 */
#include <stdio.h>
#include <string.h>

#include "rate-gate.h"

/* The constant middle of every rate object, for the limit (0) and for
 * --local-limit (1): ,"limit":L,"window_s":W,"allowed": */
void
rate_mid(struct state *st)
{
	char w[32];
	int64_t ms = st->o.window_ms;

	if (ms % 1000 == 0) {
		snprintf(w, sizeof(w), "%lld", (long long)(ms / 1000));
	} else {
		/* Milliseconds: three decimals at most, trailing zeros cut. */
		size_t n = (size_t)snprintf(w, sizeof(w), "%lld.%03lld", (long long)(ms / 1000),
		    (long long)(ms % 1000));
		while (w[n - 1] == '0')
			w[--n] = '\0';
	}
	for (int i = 0; i < 2; i++)
		st->mid_len[i] = (size_t)snprintf(st->mid[i], sizeof(st->mid[i]),
		    ",\"limit\":%lld,\"window_s\":%s,\"allowed\":",
		    i ? st->o.local_limit : st->o.limit, w);
}

#define PUT_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* Write the record at base as the verdict says; key is its rendered key. */
void
emit(struct state *st, const char *base, const struct rec *r, const char *key,
    const struct verdict *v)
{
	struct jw *w = &st->out;

	if (v->degraded)
		st->degraded++;
	if (v->allowed) {
		st->allowed++;
	} else {
		st->exceeded++;
		if (st->o.exceed == EXCEED_DROP)
			return;
		if (st->o.exceed == EXCEED_DIVERT)
			w = &st->div;
	}
	/* Plain bytes unless something must be said: --annotate, a tagged
	 * excess, or a record let through while Redis could not decide. */
	if (!st->o.annotate && (v->allowed ? !v->degraded : st->o.exceed != EXCEED_TAG)) {
		jw_bytes(w, base, r->len);
		jw_end(w);
		return;
	}
	/* The record up to its closing brace, less an old "rate", then ours. */
	if (r->drop_to > r->drop_from) {
		jw_bytes(w, base, r->drop_from);
		jw_bytes(w, base + r->drop_to, r->close - r->drop_to);
	} else {
		jw_bytes(w, base, r->close);
	}
	char *o = jw_reserve(w, 6 * r->key_len + 256);
	if (o == NULL)
		return;
	if (r->members)
		*o++ = ',';
	o = PUT_LIT(o, "\"rate\":{\"key\":\"");
	o = jw_escape_to(o, key, r->key_len);
	o = PUT_LIT(o, "\",\"count\":");
	o = v->known ? jw_int_to(o, v->count) : PUT_LIT(o, "null");
	int local = v->degraded && st->o.fail == FAIL_LOCAL;
	long long limit = local ? st->o.local_limit : st->o.limit;
	memcpy(o, st->mid[local], st->mid_len[local]);
	o += st->mid_len[local];
	o = v->allowed ? PUT_LIT(o, "true") : PUT_LIT(o, "false");
	o = PUT_LIT(o, ",\"remaining\":");
	o = v->known ? jw_int_to(o, v->count >= limit ? 0 : limit - v->count) : PUT_LIT(o, "null");
	o = PUT_LIT(o, ",\"retry_after_ms\":");
	o = jw_int_to(o, v->retry_ms);
	if (v->degraded)
		o = PUT_LIT(o, ",\"degraded\":true");
	o = PUT_LIT(o, "}}");
	w->len = (size_t)(o - w->buf);
	jw_end(w);
}

/* Where the "rate" member is, so a new one replaces it. */
void
find_rate(struct rec *r, const char *s, const struct jscan_member *m, size_t count)
{
	r->drop_from = r->drop_to = 0;
	r->members = count > 0;
	for (size_t i = 0; i < count; i++) {
		if (m[i].klen != 4 || memcmp(m[i].key, "rate", 4) != 0)
			continue;
		r->drop_from = (size_t)(m[i].key - 1 - s);
		r->drop_to = (size_t)(m[i].val + m[i].vlen - s);
		if (i + 1 < count)
			r->drop_to = (size_t)(m[i + 1].key - 1 - s);
		else if (i > 0)
			r->drop_from = (size_t)(m[i - 1].val + m[i - 1].vlen - s);
		r->members = count > 1;
		return;
	}
}
