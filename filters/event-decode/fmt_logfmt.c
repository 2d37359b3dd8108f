/*
 * fmt_logfmt.c - key=value lines as Heroku, Go's log/slog and many
 * services write them:  time=2026-11-22T01:02:03Z level=info msg="a b" n=5 ok
 *
 * Well-known keys land on their ECS fields (time|ts|timestamp, level|lvl,
 * msg|message); every other key is kept under its own name, dots nesting.
 * Unquoted values that are JSON numbers become numbers; quoted values stay
 * strings; a bare key is true.
 */
#include "formats.h"

#include <string.h>

static bool
is(const char *k, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(k, lit, n) == 0;
}

int
fmt_logfmt(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	size_t i = 0, pairs = 0;

	ev->dataset = "logfmt";
	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= n)
			break;
		size_t k = i;
		while (i < n && s[i] != '=' && s[i] != ' ' && s[i] != '\t') {
			if (s[i] == '"')
				goto bad;
			i++;
		}
		size_t kn = i - k;
		if (kn == 0)
			goto bad;
		const char *key = s + k;
		if (i >= n || s[i] != '=') {
			ev_field(ev, key, kn, V_TRUE, NULL, 0);
			continue;
		}
		i++;
		pairs++;
		const char *v = s + i;
		size_t vn;
		bool quoted = i < n && s[i] == '"';
		if (quoted) {
			size_t start = ++i;
			bool esc;
			i = quoted_end(s, n, i, &esc);
			if (i >= n)
				goto bad;
			v = s + start;
			vn = i - start;
			i++;
			if (esc) {
				char *o = ev_alloc(ev, vn);
				if (o == NULL)
					goto bad;
				size_t m = 0;
				for (size_t j = 0; j < vn; j++) {
					char ch = v[j];
					if (ch == '\\' && j + 1 < vn) {
						j++;
						switch (v[j]) {
						case 'n': ch = '\n'; break;
						case 't': ch = '\t'; break;
						case 'r': ch = '\r'; break;
						case '"': case '\\': ch = v[j]; break;
						default: o[m++] = '\\'; ch = v[j]; break;
						}
					}
					o[m++] = ch;
				}
				v = o;
				vn = m;
			}
		} else {
			while (i < n && s[i] != ' ' && s[i] != '\t')
				i++;
			vn = (size_t)(s + i - v);
		}

		if (is(key, kn, "time") || is(key, kn, "ts") || is(key, kn, "timestamp")) {
			if (ts_any(c, v, vn, &ev->ts)) {
				ev->has_ts = true;
				continue;
			}
		} else if (is(key, kn, "level") || is(key, kn, "lvl")) {
			ev_str(ev, "log.level", v, vn);
			continue;
		} else if (is(key, kn, "msg") || is(key, kn, "message")) {
			ev_str(ev, "message", v, vn);
			continue;
		}
		ev_field(ev, key, kn, !quoted && is_json_number(v, vn) ? V_NUM : V_STR, v, vn);
	}
	if (pairs == 0)
		goto bad;
	return 0;
bad:
	ev->why = "not logfmt (key=value pairs)";
	return -1;
}
