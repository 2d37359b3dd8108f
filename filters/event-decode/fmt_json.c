/*
 * fmt_json.c - NDJSON input passed through byte for byte, with the fields
 * every event must have spliced in where they are missing.
 *
 * Re-serialising through a tree would reorder keys, reformat numbers and
 * cost microseconds a line; instead jscan validates the line and finds the
 * top-level members, and the output is the input with insertions.  A flat
 * dotted key ("event.id") counts as present, since readers of dotted paths
 * find it.
 */
#include "formats.h"
#include "clock.h"
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 512

static const struct jscan_member *
member(const struct jscan_member *m, size_t n, const char *key)
{
	size_t len = strlen(key);
	for (size_t i = 0; i < n; i++)
		if (m[i].klen == len && memcmp(m[i].key, key, len) == 0)
			return &m[i];
	return NULL;
}

/* Which of the fields fmt_json may add a record already has, found in one
 * pass over its top-level members. */
struct present {
	const struct jscan_member *event;	/* the first "event" member */
	bool id, dataset, original, timestamp, host, log;
};

#define KEY_IS(mm, lit) \
	((mm)->klen == sizeof(lit) - 1 && memcmp((mm)->key, lit, sizeof(lit) - 1) == 0)

static void
present(const struct jscan_member *m, size_t n, struct present *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		const struct jscan_member *k = &m[i];
		if (KEY_IS(k, "event")) {
			if (p->event == NULL)
				p->event = k;
		} else if (KEY_IS(k, "event.id")) {
			p->id = true;
		} else if (KEY_IS(k, "event.dataset")) {
			p->dataset = true;
		} else if (KEY_IS(k, "event.original")) {
			p->original = true;
		} else if (KEY_IS(k, "@timestamp")) {
			p->timestamp = true;
		} else if (KEY_IS(k, "host") || KEY_IS(k, "host.name")) {
			p->host = true;
		} else if (KEY_IS(k, "log") || KEY_IS(k, "log.file.path")) {
			p->log = true;
		}
	}
}

/* The members of "event" that the record lacks. */
static void
event_members(struct jw *w, const struct json_extra *x, const char *s, size_t n,
    bool id, bool dataset, bool raw)
{
	if (id) {
		JW_KEY_LIT(w, "id");
		jw_str_plain(w, x->id, 32);
	}
	if (dataset) {
		JW_KEY_LIT(w, "dataset");
		if (x->dataset_plain)
			jw_str_plain(w, x->dataset, strlen(x->dataset));
		else
			jw_strz(w, x->dataset);
	}
	if (raw) {
		JW_KEY_LIT(w, "original");
		jw_str(w, s, n);
	}
}

static int splice(struct jw *w, const char *s, size_t n,
    const struct json_extra *x, const struct jscan_member *m, size_t count);

int
fmt_json(struct jw *w, const char *s, size_t n, const struct json_extra *x,
    const char **why)
{
	struct jscan_member m[MAX_MEMBERS];
	struct jscan_err e;
	size_t count;
	char type = jscan(s, n, m, MAX_MEMBERS, &count, &e);

	if (type == 0) {
		*why = e.msg;
		return -1;
	}
	if (type != '{') {
		*why = type == '[' ? "not a JSON object (an array)" : "not a JSON object";
		return -1;
	}
	/* A record with more members than the stack holds: scan again into
	 * room for all of them, so no key the record has is missed. */
	struct jscan_member *all = m;
	if (count > MAX_MEMBERS) {
		all = malloc(count * sizeof(*all));
		if (all == NULL) {
			*why = "out of memory";
			return -1;
		}
		jscan(s, n, all, count, &count, &e);
	}
	int rc = splice(w, s, n, x, all, count);
	if (all != m)
		free(all);
	return rc;
}

/* Write the record with the missing fields spliced in. */
static int
splice(struct jw *w, const char *s, size_t n, const struct json_extra *x,
    const struct jscan_member *m, size_t count)
{

	/* The object's own bytes, without surrounding white space. */
	const char *open = memchr(s, '{', n);
	const char *close = s + n - 1;
	while (*close != '}')
		close--;

	struct present has;
	present(m, count, &has);
	const struct jscan_member *evm = has.event;
	bool want_id = !has.id;
	bool want_ds = x->dataset != NULL && !has.dataset;
	bool want_raw = x->keep_raw && !has.original;
	const char *cur = open;

	/* Into an existing "event" object: what it lacks, after its '{'. */
	if (evm != NULL && evm->type == '{') {
		struct jscan_member em[64];
		size_t ec = jscan_members(evm->val, evm->vlen, em, 64);
		want_id = want_id && member(em, ec < 64 ? ec : 64, "id") == NULL;
		want_ds = want_ds && member(em, ec < 64 ? ec : 64, "dataset") == NULL;
		want_raw = want_raw && member(em, ec < 64 ? ec : 64, "original") == NULL;
		if (want_id || want_ds || want_raw) {
			const char *brace = evm->val + 1;
			jw_bytes(w, cur, (size_t)(brace - cur));
			/* Nested writer state: we are inside the event object. */
			w->depth = 1;
			w->comma = 0;
			w->after_key = false;
			event_members(w, x, s, n, want_id, want_ds, want_raw);
			if (ec > 0)
				jw_bytes(w, ",", 1);
			cur = brace;
		}
		want_id = want_ds = want_raw = false;
	} else if (evm != NULL) {
		want_id = want_ds = want_raw = false;	/* not an object: leave it be */
	}

	jw_bytes(w, cur, (size_t)(close - cur));
	w->depth = 1;
	w->comma = count > 0 ? 2 : 0;	/* bit 1: the next member needs a comma */
	w->after_key = false;
	if (!has.timestamp) {
		char ts[RFC3339_LEN];
		rfc3339_format_cached(x->tsc, clock_wall_ms(), ts);
		JW_KEY_LIT(w, "@timestamp");
		jw_str_plain(w, ts, RFC3339_LEN);
	}
	if (want_id || want_ds || want_raw) {
		JW_KEY_LIT(w, "event");
		jw_obj_open(w);
		event_members(w, x, s, n, want_id, want_ds, want_raw);
		jw_obj_close(w);
	}
	if (x->host != NULL && !has.host) {
		JW_KEY_LIT(w, "host");
		jw_obj_open(w);
		JW_KEY_LIT(w, "name");
		jw_strz(w, x->host);
		jw_obj_close(w);
	}
	if (x->file != NULL && !has.log) {
		JW_KEY_LIT(w, "log");
		jw_obj_open(w);
		JW_KEY_LIT(w, "file");
		jw_obj_open(w);
		JW_KEY_LIT(w, "path");
		if (x->file_plain)
			jw_str_plain(w, x->file, strlen(x->file));
		else
			jw_strz(w, x->file);
		jw_obj_close(w);
		jw_obj_close(w);
	}
	jw_bytes(w, "}", 1);
	jw_end(w);
	return 0;
}
