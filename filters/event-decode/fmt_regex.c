/*
 * fmt_regex.c - lines described by PCRE2 patterns with named captures.
 *
 * Patterns are compiled once, JIT-compiled when the platform allows, and
 * matched with one match-data block per pattern, so a line costs the match
 * and nothing else.  Capture names become field paths when the set is
 * built ("__" is a dot, a few short names are ECS fields), not per line.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "formats.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_FIELD, K_TIMESTAMP, K_MESSAGE };

struct capture {
	uint32_t group;
	enum kind kind;
	char *path;
	size_t plen;
};

struct pattern {
	pcre2_code *code;
	pcre2_match_data *md;
	bool jit;
	struct capture *caps;
	size_t ncaps;
	bool has_message;
	char *source;
};

struct regex_set {
	struct pattern *p;
	size_t n, cap;
	size_t last;
};

static const struct {
	const char *name, *path;
} aliases[] = {
	{ "level", "log.level" }, { "host", "host.name" },
	{ "pid", "process.pid" }, { "program", "process.name" },
};

struct regex_set *
regex_new(void)
{
	return calloc(1, sizeof(struct regex_set));
}

void
regex_free(struct regex_set *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		struct pattern *p = &rs->p[i];
		for (size_t k = 0; k < p->ncaps; k++)
			free(p->caps[k].path);
		free(p->caps);
		free(p->source);
		pcre2_match_data_free(p->md);
		pcre2_code_free(p->code);
	}
	free(rs->p);
	free(rs);
}

size_t
regex_count(const struct regex_set *rs)
{
	return rs ? rs->n : 0;
}

const char *
regex_source(const struct regex_set *rs, size_t i)
{
	return rs->p[i].source;
}

size_t
regex_last(const struct regex_set *rs)
{
	return rs->last;
}

/* Capture name → field path: aliases, then "__" → ".". */
static char *
path_of(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].name) == 0)
			return strdup(aliases[i].path);
	char *out = malloc(strlen(name) + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (const char *p = name; *p; p++) {
		if (p[0] == '_' && p[1] == '_') {
			*o++ = '.';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

int
regex_add(struct regex_set *rs, const char *pattern, size_t len,
    const char *file, unsigned line, struct sl_err *e)
{
	int code;
	PCRE2_SIZE off;
	struct pattern p;

	memset(&p, 0, sizeof(p));
	p.code = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF, &code, &off, NULL);
	if (p.code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return err_set(e, file, line, (unsigned)off + 1, "%s", (char *)msg);
	}
	p.jit = pcre2_jit_compile(p.code, PCRE2_JIT_COMPLETE) == 0;
	p.md = pcre2_match_data_create_from_pattern(p.code, NULL);
	p.source = strndup(pattern, len);

	uint32_t count = 0, size = 0;
	PCRE2_SPTR table = NULL;
	pcre2_pattern_info(p.code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(p.code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(p.code, PCRE2_INFO_NAMETABLE, &table);
	p.caps = calloc(count ? count : 1, sizeof(*p.caps));
	if (p.md == NULL || p.source == NULL || p.caps == NULL)
		goto nomem;
	for (uint32_t i = 0; i < count; i++) {
		PCRE2_SPTR entry = table + (size_t)i * size;
		const char *name = (const char *)entry + 2;
		struct capture *c = &p.caps[p.ncaps++];
		c->group = (uint32_t)entry[0] << 8 | entry[1];
		if (strcmp(name, "timestamp") == 0) {
			c->kind = K_TIMESTAMP;
		} else if (strcmp(name, "message") == 0) {
			c->kind = K_MESSAGE;
			p.has_message = true;
		}
		c->path = path_of(name);
		if (c->path == NULL)
			goto nomem;
		c->plen = strlen(c->path);
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 4;
		struct pattern *np = realloc(rs->p, cap * sizeof(*np));
		if (np == NULL)
			goto nomem;
		rs->p = np;
		rs->cap = cap;
	}
	rs->p[rs->n++] = p;
	return 0;
nomem:
	for (size_t k = 0; k < p.ncaps; k++)
		free(p.caps[k].path);
	free(p.caps);
	free(p.source);
	pcre2_match_data_free(p.md);
	pcre2_code_free(p.code);
	return err_set(e, file, line, 0, "out of memory");
}

int
regex_load(struct regex_set *rs, const char *path, struct sl_err *e)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;

	if (f == NULL)
		return err_set(e, path, 0, 0, "%s", strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		size_t lead = 0;
		while (lead < (size_t)len && (line[lead] == ' ' || line[lead] == '\t'))
			lead++;
		if (lead == (size_t)len || line[lead] == '#')
			continue;
		if (regex_add(rs, line, (size_t)len, path, lineno, e) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = err_set(e, path, 0, 0, "read error");
	if (rc == 0 && rs->n == 0)
		rc = err_set(e, path, 0, 0, "no patterns in file");
	free(line);
	fclose(f);
	return rc;
}

int
fmt_regex(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	struct regex_set *rs = c->rx;

	ev->dataset = "regex";
	if (rs == NULL || rs->n == 0) {
		ev->why = "no pattern given (-p or -P)";
		return -1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct pattern *p = &rs->p[i];
		int rc = p->jit
		    ? pcre2_jit_match(p->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, p->md, NULL)
		    : pcre2_match(p->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, p->md, NULL);
		if (rc < 0)
			continue;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
		uint32_t pairs = pcre2_get_ovector_count(p->md);
		for (size_t k = 0; k < p->ncaps; k++) {
			struct capture *cp = &p->caps[k];
			if (cp->group >= pairs || ov[2 * cp->group] == PCRE2_UNSET)
				continue;
			const char *v = s + ov[2 * cp->group];
			size_t vn = ov[2 * cp->group + 1] - ov[2 * cp->group];
			switch (cp->kind) {
			case K_TIMESTAMP:
				if (ts_any(c, v, vn, &ev->ts)) {
					ev->has_ts = true;
					break;
				}
				ev_str(ev, "log.timestamp", v, vn);
				break;
			case K_MESSAGE:
				ev_str(ev, "message", v, vn);
				break;
			default:
				ev_field_stable(ev, cp->path, cp->plen,
				    is_json_number(v, vn) ? V_NUM : V_STR, v, vn);
				break;
			}
		}
		if (!p->has_message)
			ev_str(ev, "message", s, n);
		rs->last = i;
		return 0;
	}
	ev->why = rs->n == 1 ? "pattern did not match" : "no pattern matched";
	return -1;
}
