/*
 * reject.c - the reject file and the rate-limited warnings.
 */
#include "reject.h"
#include "b64.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
open_file(struct reject *rj, struct sl_err *e)
{
	int fd = open(rj->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, rj->path, 0, 0, "cannot open reject file: %s",
		    strerror(errno));
	rj->out.fd = fd;
	return 0;
}

int
reject_open(struct reject *rj, const char *path, bool strict, struct sl_err *e)
{
	memset(rj, 0, sizeof(*rj));
	rj->strict = strict;
	rj->limit.burst = 10;
	rj->limit.period_s = 10;
	if (jw_init(&rj->out, -1) != 0)
		return err_set(e, NULL, 0, 0, "out of memory");
	if (path == NULL)
		return 0;
	rj->path = strdup(path);
	if (rj->path == NULL)
		return err_set(e, NULL, 0, 0, "out of memory");
	return open_file(rj, e);
}

static void
head(struct reject *rj, uint64_t lineno, const char *why)
{
	struct jw *w = &rj->out;
	jw_obj_open(w);
	jw_keyz(w, "reject");
	jw_obj_open(w);
	jw_keyz(w, "program");
	jw_strz(w, log_program());
	jw_keyz(w, "line");
	jw_int(w, (int64_t)lineno);
	jw_keyz(w, "error");
	jw_strz(w, why);
}

static int
verdict(struct reject *rj, uint64_t lineno, const char *why)
{
	rj->count++;
	if (rj->strict) {
		log_error("line %llu: %s", (unsigned long long)lineno, why);
		return -1;
	}
	if (rj->path == NULL)
		log_limited(&rj->limit, "line %llu: %s (line rejected)",
		    (unsigned long long)lineno, why);
	return 0;
}

int
reject_line(struct reject *rj, uint64_t lineno, const char *why,
    const char *raw, size_t n)
{
	if (rj->path != NULL) {
		struct jw *w = &rj->out;
		head(rj, lineno, why);
		if (utf8_valid(raw, n) && memchr(raw, '\0', n) == NULL) {
			jw_keyz(w, "raw");
			jw_str(w, raw, n);
		} else {
			jw_keyz(w, "raw_b64");
			jw_b64(w, raw, n);
		}
		jw_obj_close(w);
		jw_obj_close(w);
		jw_end(w);
	}
	return verdict(rj, lineno, why);
}

void
reject_long_begin(struct reject *rj, uint64_t lineno, const char *why)
{
	rj->long_lineno = lineno;
	rj->long_why = why;
	rj->ncarry = 0;
	if (rj->path == NULL)
		return;
	head(rj, lineno, why);
	jw_keyz(&rj->out, "raw_b64");
	/* jw_raw, not jw_bytes: the writer must see the value begin, or the
	 * "bytes" key after it goes without its comma. */
	jw_raw(&rj->out, "\"", 1);
}

void
reject_long_chunk(struct reject *rj, const char *p, size_t n)
{
	struct jw *w = &rj->out;

	if (rj->path == NULL)
		return;
	while (n > 0 && rj->ncarry > 0 && rj->ncarry < 3) {
		rj->carry[rj->ncarry++] = (unsigned char)*p++;
		n--;
	}
	if (rj->ncarry > 0 && rj->ncarry < 3)
		return;		/* all of p went into the carry: keep it */
	if (rj->ncarry == 3) {
		char *o = jw_reserve(w, 4);
		if (o != NULL)
			w->len += b64_encode(o, rj->carry, 3);
		rj->ncarry = 0;
	}
	size_t whole = n / 3 * 3;
	char *o = jw_reserve(w, B64_LEN(whole));
	if (o != NULL)
		w->len += b64_encode(o, p, whole);
	memcpy(rj->carry, p + whole, n - whole);
	rj->ncarry = n - whole;
	/* Keep memory bounded however long the line: flush as we go. */
	if (w->len >= w->mark)
		jw_flush(w);
}

int
reject_long_step(struct reject *rj, bool *open, uint64_t lineno, const char *why,
    const char *p, size_t n, bool more, uint64_t total)
{
	if (!*open) {
		*open = true;
		reject_long_begin(rj, lineno, why);
	}
	reject_long_chunk(rj, p, n);
	if (more)
		return 0;
	*open = false;
	return reject_long_end(rj, total);
}

int
reject_long_end(struct reject *rj, uint64_t total)
{
	if (rj->path != NULL) {
		struct jw *w = &rj->out;
		char *o = jw_reserve(w, 4);
		if (o != NULL)
			w->len += b64_encode(o, rj->carry, rj->ncarry);
		rj->ncarry = 0;
		jw_bytes(w, "\"", 1);
		jw_keyz(w, "bytes");
		jw_int(w, (int64_t)total);
		jw_obj_close(w);
		jw_obj_close(w);
		jw_end(w);
	}
	return verdict(rj, rj->long_lineno, rj->long_why);
}

int
reject_flush(struct reject *rj)
{
	if (rj->path == NULL)
		return 0;
	return jw_flush(&rj->out);
}

int
reject_reopen(struct reject *rj, struct sl_err *e)
{
	if (rj->path == NULL)
		return 0;
	jw_flush(&rj->out);
	int old = rj->out.fd;
	if (open_file(rj, e) != 0) {
		rj->out.fd = old;
		return -1;
	}
	close(old);
	return 0;
}

int
reject_close(struct reject *rj)
{
	int rc = 0;

	if (rj->path != NULL) {
		if (jw_flush(&rj->out) != 0 || rj->out.err)
			rc = -1;
		if (close(rj->out.fd) != 0)
			rc = -1;
	}
	if (rj->path == NULL && rj->count > rj->limit.burst && rj->limit.held)
		log_warn("%llu lines rejected in all", (unsigned long long)rj->count);
	jw_free(&rj->out);
	free(rj->path);
	rj->path = NULL;
	return rc;
}
