/*
 * fmt_syslog.c - RFC 3164 and RFC 5424 syslog lines, and the OpenSSH
 * messages inside them.
 *
 * RFC 3164 is a description of practice, not a grammar, so the decoder
 * follows what real files hold (see t/data/loghub): the host may be
 * missing, the tag may hold spaces ("syslogd 1.4.1: restart."), and the
 * time may be an RFC 3339 stamp (rsyslog's high-precision template).  The
 * tag ends at the first '[' or ':' within 64 bytes; without either, the
 * line has no tag and all of it after the host is the message.
 */
#include "formats.h"

#include <string.h>

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console",
	"solaris-cron", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7",
};

static const char *const severities[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

struct slice {
	const char *p;
	size_t n;
};

static void
priority(struct event *ev, int pri)
{
	ev_int(ev, "log.syslog.priority", pri);
	ev_int(ev, "log.syslog.facility.code", pri >> 3);
	ev_lit(ev, "log.syslog.facility.name", facilities[pri >> 3]);
	ev_int(ev, "log.syslog.severity.code", pri & 7);
	ev_lit(ev, "log.syslog.severity.name", severities[pri & 7]);
	ev_lit(ev, "log.level", severities[pri & 7]);
}

static size_t
trim_right(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* "- " or a token: is it the NILVALUE? */
static bool
nil(const char *s, size_t a, size_t b)
{
	return b == a + 1 && s[a] == '-';
}

/* RFC 5424 STRUCTURED-DATA at s[i]; returns the index after it, or 0. */
static size_t
structured_data(struct event *ev, const char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '-')
		return i + 1;
	if (i >= n || s[i] != '[')
		return 0;
	while (i < n && s[i] == '[') {
		size_t id = ++i;
		while (i < n && s[i] != ' ' && s[i] != ']' && s[i] != '=' && s[i] != '"')
			i++;
		if (i == id || i >= n)
			return 0;
		size_t idn = i - id;
		while (i < n && s[i] == ' ') {
			size_t name = ++i;
			while (i < n && s[i] != '=' && s[i] != ' ' && s[i] != ']' && s[i] != '"')
				i++;
			if (i == name || i + 1 >= n || s[i] != '=' || s[i + 1] != '"')
				return 0;
			size_t namen = i - name;
			i += 2;
			/* PARAM-VALUE: '"', '\' and ']' are escaped with '\'. */
			size_t v = i;
			bool esc;
			i = quoted_end(s, n, i, &esc);
			if (i >= n)
				return 0;
			const char *val = s + v;
			size_t valn = i - v;
			i++;
			if (esc) {
				char *o = ev_alloc(ev, valn);
				if (o == NULL)
					return 0;
				size_t k = 0;
				for (size_t j = 0; j < valn; j++) {
					if (val[j] == '\\' && j + 1 < valn &&
					    (val[j + 1] == '"' || val[j + 1] == '\\' || val[j + 1] == ']'))
						j++;
					o[k++] = val[j];
				}
				val = o;
				valn = k;
			}
			if (ev->n >= EV_MAX_FIELDS) {
				ev->overflow = true;	/* counted; no path built */
				continue;
			}
			static const char pre[] = "log.syslog.structured_data.";
			size_t plen = sizeof(pre) - 1 + idn + 1 + namen;
			char *path = ev_alloc(ev, plen);
			if (path == NULL)
				return 0;
			memcpy(path, pre, sizeof(pre) - 1);
			memcpy(path + sizeof(pre) - 1, s + id, idn);
			path[sizeof(pre) - 1 + idn] = '.';
			memcpy(path + sizeof(pre) + idn, s + name, namen);
			ev_field(ev, path, plen, V_STR, val, valn);
		}
		if (i >= n || s[i] != ']')
			return 0;
		i++;
	}
	return i;
}

static int
rfc5424(struct decode_ctx *c, struct event *ev, const char *s, size_t n,
    size_t i, struct slice *prog, struct slice *msg)
{
	size_t e;

	ev_int(ev, "log.syslog.version", 1);
	i += 2;		/* "1 " */
	/* TIMESTAMP */
	e = token_end(s, n, i);
	if (!nil(s, i, e)) {
		int64_t ms;
		if (ts_iso(c, s + i, e - i, &ms) != e - i) {
			ev->why = "RFC 5424 timestamp not RFC 3339";
			return -1;
		}
		ev->ts = ms;
		ev->has_ts = true;
	}
	static const char *const names[] = { "host.name", "process.name", NULL, "log.syslog.msgid" };
	for (int k = 0; k < 4; k++) {
		if (e >= n) {
			ev->why = "RFC 5424 header cut short";
			return -1;
		}
		i = e + 1;
		e = token_end(s, n, i);
		if (e == i) {
			ev->why = "RFC 5424 header field empty";
			return -1;
		}
		if (nil(s, i, e))
			continue;
		if (k == 2) {
			int64_t pid;
			if (parse_uint(s + i, e - i, &pid))
				ev_int(ev, "process.pid", pid);
			else
				ev_str(ev, "log.syslog.procid", s + i, e - i);
		} else {
			ev_str(ev, names[k], s + i, e - i);
			if (k == 1) {
				prog->p = s + i;
				prog->n = e - i;
			}
		}
	}
	if (e >= n) {
		ev->why = "RFC 5424 structured data missing";
		return -1;
	}
	i = structured_data(ev, s, n, e + 1);
	if (i == 0) {
		ev->why = "RFC 5424 structured data malformed";
		return -1;
	}
	if (i < n && s[i] != ' ') {
		ev->why = "RFC 5424 structured data malformed";
		return -1;
	}
	if (i < n)
		i++;
	if (n - i >= 3 && memcmp(s + i, "\xef\xbb\xbf", 3) == 0)
		i += 3;		/* the BOM that marks a UTF-8 MSG */
	msg->p = s + i;
	msg->n = trim_right(s + i, n - i);
	if (msg->n > 0)
		ev_str(ev, "message", msg->p, msg->n);
	return 0;
}

static int
syslog_decode(struct decode_ctx *c, struct event *ev, const char *s, size_t n,
    struct slice *prog, struct slice *msg)
{
	size_t i = 0;
	int pri = -1;
	int64_t ms;

	prog->p = msg->p = NULL;
	prog->n = msg->n = 0;
	ev->dataset = "syslog";
	ev->slices = true;
	if (n > 2 && s[0] == '<') {
		pri = 0;
		for (i = 1; i < n && i <= 4 && s[i] >= '0' && s[i] <= '9'; i++)
			pri = pri * 10 + (s[i] - '0');
		if (i == 1 || i >= n || s[i] != '>' || pri > 191) {
			ev->why = "bad syslog priority";
			return -1;
		}
		i++;
		priority(ev, pri);
		if (i + 1 < n && s[i] == '1' && s[i + 1] == ' ')
			return rfc5424(c, ev, s, n, i, prog, msg);
	}

	size_t t = ts_syslog(c, s + i, n - i, &ms);
	if (t == 0)
		t = ts_iso(c, s + i, n - i, &ms);
	if (t == 0) {
		ev->why = "no syslog timestamp";
		return -1;
	}
	ev->ts = ms;
	ev->has_ts = true;
	i += t;
	if (i < n && s[i] != ' ') {
		ev->why = "no syslog timestamp";
		return -1;
	}
	while (i < n && s[i] == ' ')
		i++;

	/* HOSTNAME, unless the next word is already the tag. */
	size_t e = token_end(s, n, i);
	if (e > i && s[e - 1] != ':' && memchr(s + i, '[', e - i) == NULL && e < n) {
		ev_str(ev, "host.name", s + i, e - i);
		i = e;
		while (i < n && s[i] == ' ')
			i++;
	}

	/* TAG[PID]: */
	size_t j = i, lim = i + 64 < n ? i + 64 : n;
	while (j < lim && s[j] != ':' && s[j] != '[')
		j++;
	size_t m = i;
	if (j < lim && j > i) {
		size_t pe = j;
		if (s[j] == '[') {
			size_t k = j + 1;
			while (k < n && s[k] >= '0' && s[k] <= '9')
				k++;
			int64_t pid;
			if (k < n && s[k] == ']' && parse_uint(s + j + 1, k - j - 1, &pid)) {
				ev_int(ev, "process.pid", pid);
				j = k + 1;
				if (j < n && s[j] == ':')
					j++;
				m = j;
			}
		} else {
			m = j + 1;
		}
		if (m != i) {
			prog->p = s + i;
			prog->n = trim_right(s + i, pe - i);
			ev_str(ev, "process.name", prog->p, prog->n);
		}
	}
	/* Leading white space is layout, not content (loghub agrees). */
	while (m < n && (s[m] == ' ' || s[m] == '\t'))
		m++;
	msg->p = s + m;
	msg->n = trim_right(s + m, n - m);
	ev_str(ev, "message", msg->p, msg->n);
	return 0;
}

int
fmt_syslog(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	struct slice prog, msg;
	return syslog_decode(c, ev, s, n, &prog, &msg);
}

/* --- OpenSSH ------------------------------------------------------------ */

/* If s starts with lit, advance past it. */
static inline bool
eat(struct slice *s, const char *lit)
{
	size_t n = strlen(lit);
	if (s->n < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	s->n -= n;
	return true;
}

static struct slice
word(struct slice *s)
{
	struct slice w = { s->p, 0 };
	while (w.n < s->n && s->p[w.n] != ' ')
		w.n++;
	s->p += w.n;
	s->n -= w.n;
	return w;
}

/* The last occurrence of lit in s, or NULL. */
static const char *
rfind(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.n < n)
		return NULL;
	for (size_t i = s.n - n + 1; i-- > 0;)
		if (memcmp(s.p + i, lit, n) == 0)
			return s.p + i;
	return NULL;
}

static void
address(struct event *ev, struct slice a)
{
	if (a.n == 0)
		return;
	if (is_ip(a.p, a.n))
		ev_str(ev, "source.ip", a.p, a.n);
	else
		ev_str(ev, "source.domain", a.p, a.n);
}

static void
port(struct event *ev, struct slice *s)
{
	int64_t p;
	if (eat(s, " port ")) {
		struct slice w = word(s);
		/* "port 22:11:" in Received disconnect: digits up to ':' */
		size_t k = 0;
		while (k < w.n && w.p[k] >= '0' && w.p[k] <= '9')
			k++;
		if (parse_uint(w.p, k, &p) && p <= 65535)
			ev_int(ev, "source.port", p);
	}
}

static void
auth(struct event *ev, const char *action, const char *outcome)
{
	ev_lit(ev, "event.category", "authentication");
	ev_lit(ev, "event.action", action);
	if (outcome != NULL)
		ev_lit(ev, "event.outcome", outcome);
}

/* "[invalid user U |authenticating user U |user U ]ADDR[ port P]" */
static void
user_addr_port(struct event *ev, struct slice m)
{
	if (eat(&m, "invalid user ") || eat(&m, "authenticating user ") ||
	    eat(&m, "user ")) {
		struct slice u = word(&m);
		ev_str(ev, "user.name", u.p, u.n);
		eat(&m, " ");
	}
	struct slice a = word(&m);
	address(ev, a);
	port(ev, &m);
}

static void
sshd_message(struct event *ev, struct slice m)
{
	const char *from;
	bool ok;

	if ((ok = eat(&m, "Accepted ")) || eat(&m, "Failed ")) {
		struct slice method = word(&m);
		if (!eat(&m, " for ") || (from = rfind(m, " from ")) == NULL)
			return;
		auth(ev, "ssh_login", ok ? "success" : "failure");
		ev_str(ev, "ssh.method", method.p, method.n);
		if (eat(&m, "invalid user "))
			ev_true(ev, "user.invalid");
		ev_str(ev, "user.name", m.p, (size_t)(from - m.p));
		m.n -= (size_t)(from + 6 - m.p);
		m.p = from + 6;
		address(ev, word(&m));
		port(ev, &m);
	} else if (eat(&m, "Invalid user ")) {
		if ((from = rfind(m, " from ")) == NULL)
			return;
		auth(ev, "invalid_user", "failure");
		ev_str(ev, "user.name", m.p, (size_t)(from - m.p));
		m.n -= (size_t)(from + 6 - m.p);
		m.p = from + 6;
		address(ev, word(&m));
		port(ev, &m);
	} else if (eat(&m, "pam_unix(sshd:auth): authentication failure;")) {
		auth(ev, "auth_failure", "failure");
		const char *r = rfind(m, " rhost=");
		if (r != NULL) {
			struct slice v = { r + 7, m.n - (size_t)(r + 7 - m.p) };
			address(ev, word(&v));
		}
		const char *u = rfind(m, " user=");
		if (u != NULL) {
			struct slice v = { u + 6, m.n - (size_t)(u + 6 - m.p) };
			struct slice w = word(&v);
			if (w.n > 0)
				ev_str(ev, "user.name", w.p, w.n);
		}
	} else if (eat(&m, "error: Received disconnect from ") ||
	    eat(&m, "Received disconnect from ")) {
		/* "ADDR port P:11: text" or, from older servers, "ADDR: 11: text" */
		ev_lit(ev, "event.action", "disconnect");
		struct slice a = word(&m);
		if (a.n > 0 && a.p[a.n - 1] == ':')
			a.n--;
		address(ev, a);
		port(ev, &m);
	} else if (eat(&m, "Connection closed by ") || eat(&m, "Disconnected from ") ||
	    eat(&m, "Connection reset by ")) {
		ev_lit(ev, "event.action", "disconnect");
		user_addr_port(ev, m);
	} else if (eat(&m, "reverse mapping checking getaddrinfo for ")) {
		struct slice host = word(&m);
		ev_lit(ev, "event.action", "break_in_attempt");
		if (eat(&m, " [")) {
			const char *close = memchr(m.p, ']', m.n);
			if (close != NULL && is_ip(m.p, (size_t)(close - m.p)))
				ev_str(ev, "source.ip", m.p, (size_t)(close - m.p));
		}
		ev_str(ev, "source.domain", host.p, host.n);
	} else if (eat(&m, "Address ") && rfind(m, "POSSIBLE BREAK-IN ATTEMPT") != NULL) {
		struct slice a = word(&m);
		ev_lit(ev, "event.action", "break_in_attempt");
		address(ev, a);
		if (eat(&m, " maps to ")) {
			struct slice host = word(&m);
			if (host.n > 0 && host.p[host.n - 1] == ',')
				host.n--;
			ev_str(ev, "source.domain", host.p, host.n);
		}
	}
}

int
fmt_sshd(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	struct slice prog, msg;

	if (syslog_decode(c, ev, s, n, &prog, &msg) != 0)
		return -1;
	if (prog.n >= 4 && memcmp(prog.p, "sshd", 4) == 0) {
		ev->dataset = "sshd.auth";
		sshd_message(ev, msg);
	}
	return 0;
}
