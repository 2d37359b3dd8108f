/*
 * config.c - the webhooks file (man 5 sluice-webhooks).
 *
 * Everything is checked at load, so a delivery never meets a setting it
 * cannot use: unknown keys, out-of-range numbers, URLs that are not plain
 * http or https or carry credentials, secrets that do not decode.  Every
 * error names file:line:column.  Secrets are read here (from the
 * environment, a file, or inline) and kept only as decoded key bytes; no
 * message ever prints one.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "duration.h"
#include "log.h"
#include "webhook-send.h"

static const char *const field_paths[NFIELDS] = {
	[F_EVENT_ID] = "event.id", [F_MESSAGE] = "message",
	[F_SEVERITY] = "alert.severity", [F_RULE_ID] = "rule.id",
	[F_RULE_NAME] = "rule.name", [F_GROUP] = "alert.group",
	[F_TIMESTAMP] = "@timestamp", [F_KIND] = "event.kind",
};

static const char *const hook_keys[] = {
	"name", "url", "format", "secret", "enabled", "events", "retry_count",
	"timeout_seconds", "connect_timeout_seconds", "headers",
	"allow_private", "backoff", NULL
};

/* Header names a webhook may not set: the signature's, and those that
 * belong to the HTTP framing. */
static const char *const reserved_headers[] = {
	"webhook-id", "webhook-timestamp", "webhook-signature", "host",
	"content-type", "content-length", "transfer-encoding", "connection", "expect", NULL
};

struct loader {
	struct config *c;
	struct sl_err *e;
	const struct ydoc *d;
};

static bool
in_list(const char *s, const char *const *list, bool nocase)
{
	for (; *list != NULL; list++)
		if (nocase ? strcasecmp(s, *list) == 0 : strcmp(s, *list) == 0)
			return true;
	return false;
}

static int
want_scalar(struct loader *ld, const struct ynode *n, const char *key)
{
	if (n->kind != Y_SCALAR)
		return yerr(ld->e, ld->d, n, "%s must be a single value, not %s", key, ykind_name(n));
	return 0;
}

static int
want_bool(struct loader *ld, const struct ynode *n, const char *key, bool *out)
{
	int b = n->kind == Y_SCALAR && !n->quoted ? yscalar_bool(n) : -1;
	if (b < 0)
		return yerr(ld->e, ld->d, n, "%s must be true or false", key);
	*out = b == 1;
	return 0;
}

static int
want_int(struct loader *ld, const struct ynode *n, const char *key, long lo,
    long hi, long *out)
{
	double v;
	if (n->kind != Y_SCALAR || n->quoted || !yscalar_number(n, &v) ||
	    v != (double)(long)v || v < (double)lo || v > (double)hi)
		return yerr(ld->e, ld->d, n, "%s must be a whole number from %ld to %ld", key, lo, hi);
	*out = (long)v;
	return 0;
}

static int
want_duration(struct loader *ld, const struct ynode *n, const char *key,
    int64_t lo, int64_t hi, int64_t *out)
{
	const char *why;
	char lo_s[32], hi_s[32];
	if (want_scalar(ld, n, key) != 0)
		return -1;
	if (duration_parse(n->str, out, &why) != 0)
		return yerr(ld->e, ld->d, n, "%s: %s (write 250ms, 10s, 5m, 2h or 7d)", key, why);
	duration_format(lo, lo_s, sizeof(lo_s));
	duration_format(hi, hi_s, sizeof(hi_s));
	if (*out < lo || *out > hi)
		return yerr(ld->e, ld->d, n, "%s must be from %s to %s", key, lo_s, hi_s);
	return 0;
}

/* --- url -------------------------------------------------------------- */

static int
load_url(struct loader *ld, struct webhook *h, const struct ynode *n)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pw = NULL;
	int rc = -1;

	if (want_scalar(ld, n, "url") != 0)
		return -1;
	if (n->len > 500)
		return yerr(ld->e, ld->d, n, "url is %zu characters long; at most 500", n->len);
	if (strncasecmp(n->str, "http://", 7) != 0 && strncasecmp(n->str, "https://", 8) != 0)
		return yerr(ld->e, ld->d, n, "url must start with http:// or https://");
	if ((u = curl_url()) == NULL)
		return yerr(ld->e, ld->d, n, "url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, n->str, 0) != CURLUE_OK) {
		yerr(ld->e, ld->d, n, "url is not a valid URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK) {
		yerr(ld->e, ld->d, n, "url must not hold credentials (user:password@); "
		    "a receiver authenticates deliveries by their signature");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || *host == '\0' ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		yerr(ld->e, ld->d, n, "url has no host");
		goto out;
	}
	if (strchr(n->str, '#') != NULL) {
		yerr(ld->e, ld->d, n, "url must not hold a fragment (#...)");
		goto out;
	}
	size_t len = strlen(scheme) + strlen(host) + strlen(port) + 5;
	if ((h->origin = malloc(len)) == NULL || (h->url = strdup(n->str)) == NULL) {
		yerr(ld->e, ld->d, n, "url: out of memory");
		goto out;
	}
	snprintf(h->origin, len, "%s://%s:%s", scheme, host, port);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return rc;
}

/* --- secrets ---------------------------------------------------------- */

/* Read a secret file: its first line, without surrounding white space. */
static int
read_secret_file(const char *path, char *buf, size_t cap, size_t *len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0) {
		*why = strerror(errno);
		return -1;
	}
	buf[n] = '\0';
	char *nl = strpbrk(buf, "\r\n"), *p = buf;
	if (nl != NULL)
		*nl = '\0';
	while (isspace((unsigned char)*p))
		p++;
	*len = strlen(p);
	while (*len > 0 && isspace((unsigned char)p[*len - 1]))
		(*len)--;
	memmove(buf, p, *len);
	return 0;
}

static int
load_secret(struct loader *ld, struct webhook *h, const struct ynode *n)
{
	char buf[1024];
	const char *val, *why;
	size_t len;

	if (want_scalar(ld, n, "secret") != 0)
		return -1;
	if (h->nsecrets == MAX_SECRETS)
		return yerr(ld->e, ld->d, n, "at most %d secrets per webhook", MAX_SECRETS);
	if (strncmp(n->str, "env:", 4) == 0) {
		if ((val = getenv(n->str + 4)) == NULL || *val == '\0')
			return yerr(ld->e, ld->d, n, "secret: environment variable %s is not set", n->str + 4);
		len = strlen(val);
	} else if (strncmp(n->str, "file:", 5) == 0) {
		if (read_secret_file(n->str + 5, buf, sizeof(buf), &len, &why) != 0)
			return yerr(ld->e, ld->d, n, "secret: %s: %s", n->str + 5, why);
		val = buf;
	} else if (strncmp(n->str, "whsec_", 6) == 0) {
		log_warn("%s:%u:%u: the secret is written in the file, readable by whoever "
		    "reads it; prefer env:NAME or file:PATH", ld->d->file, n->line, n->col);
		val = n->str;
		len = n->len;
	} else {
		return yerr(ld->e, ld->d, n, "secret must be env:NAME, file:PATH or whsec_<base64>");
	}
	if (secret_decode(val, len, &h->secrets[h->nsecrets], &why) != 0)
		return yerr(ld->e, ld->d, n, "secret: %s", why);
	h->nsecrets++;
	return 0;
}

static int
load_secrets(struct loader *ld, struct webhook *h, const struct ynode *n)
{
	if (n->kind != Y_SEQ)
		return load_secret(ld, h, n);
	if (n->n == 0)
		return yerr(ld->e, ld->d, n, "secret: the list is empty");
	for (size_t i = 0; i < n->n; i++)
		if (load_secret(ld, h, n->item[i]) != 0)
			return -1;
	return 0;
}

/* --- headers ---------------------------------------------------------- */

static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

static int
load_headers(struct loader *ld, struct webhook *h, const struct ynode *n)
{
	if (n->kind != Y_MAP)
		return yerr(ld->e, ld->d, n, "headers must map header names to values, not %s", ykind_name(n));
	if ((h->headers = calloc(n->n / 2 + 1, sizeof(*h->headers))) == NULL)
		return yerr(ld->e, ld->d, n, "headers: out of memory");
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *k = n->item[i], *v = n->item[i + 1];
		if (!header_name_ok(k->str))
			return yerr(ld->e, ld->d, k, "\"%s\" is not a valid header name", k->str);
		if (in_list(k->str, reserved_headers, true))
			return yerr(ld->e, ld->d, k, "header %s is set by webhook-send itself", k->str);
		if (want_scalar(ld, v, k->str) != 0)
			return -1;
		if (strpbrk(v->str, "\r\n") != NULL)
			return yerr(ld->e, ld->d, v, "header %s: a value cannot hold a line break", k->str);
		size_t len = k->len + v->len + 3;
		char *line = malloc(len);
		if (line == NULL)
			return yerr(ld->e, ld->d, n, "headers: out of memory");
		snprintf(line, len, "%s: %s", k->str, v->str);
		h->headers[h->nheaders++].line = line;
	}
	return 0;
}

static int
load_backoff(struct loader *ld, struct webhook *h, const struct ynode *n)
{
	if (n->kind != Y_MAP)
		return yerr(ld->e, ld->d, n, "backoff must be a mapping with base: and cap:, not %s", ykind_name(n));
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *k = n->item[i], *v = n->item[i + 1];
		if (strcmp(k->str, "base") == 0) {
			if (want_duration(ld, v, "backoff base", 1, 3600000, &h->backoff_base_ms) != 0)
				return -1;
		} else if (strcmp(k->str, "cap") == 0) {
			if (want_duration(ld, v, "backoff cap", 1, 86400000, &h->backoff_cap_ms) != 0)
				return -1;
		} else {
			return yerr(ld->e, ld->d, k, "unknown key \"%s\" in backoff (base, cap)", k->str);
		}
	}
	if (h->backoff_cap_ms < h->backoff_base_ms)
		return yerr(ld->e, ld->d, n, "backoff cap must not be below its base");
	return 0;
}

/* --- one webhook ------------------------------------------------------ */

static int
load_hook(struct loader *ld, struct webhook *h, const struct ynode *m)
{
	static const char *const formats[] = { "standard", "slack", "teams", NULL };
	const struct ynode *secret = NULL;
	long v;
	bool have_connect = false;

	h->enabled = true;
	h->retry_count = 5;
	h->timeout_ms = 10000;
	h->backoff_base_ms = 1000;
	h->backoff_cap_ms = 300000;
	if (m->kind != Y_MAP)
		return yerr(ld->e, ld->d, m, "a webhook is a mapping (name:, url:, ...), not %s", ykind_name(m));
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->item[i], *n = m->item[i + 1];
		const char *key = k->str;
		if (!in_list(key, hook_keys, false))
			return yerr(ld->e, ld->d, k, "unknown key \"%s\" in a webhook", key);
		if (strcmp(key, "name") == 0) {
			if (want_scalar(ld, n, key) != 0)
				return -1;
			if (n->len == 0 || n->len > 100 || strspn(n->str,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n->len)
				return yerr(ld->e, ld->d, n, "name must be 1 to 100 of A-Z a-z 0-9 _ . -");
			if ((h->name = strdup(n->str)) == NULL)
				return yerr(ld->e, ld->d, n, "out of memory");
		} else if (strcmp(key, "url") == 0) {
			if (load_url(ld, h, n) != 0)
				return -1;
		} else if (strcmp(key, "format") == 0) {
			size_t f;
			if (want_scalar(ld, n, key) != 0)
				return -1;
			for (f = 0; formats[f] != NULL && strcmp(formats[f], n->str) != 0; f++)
				;
			if (formats[f] == NULL)
				return yerr(ld->e, ld->d, n, "format must be standard, slack or teams");
			h->format = (enum format)f;
		} else if (strcmp(key, "secret") == 0) {
			secret = n;
		} else if (strcmp(key, "enabled") == 0) {
			if (want_bool(ld, n, key, &h->enabled) != 0)
				return -1;
		} else if (strcmp(key, "allow_private") == 0) {
			if (want_bool(ld, n, key, &h->allow_private) != 0)
				return -1;
		} else if (strcmp(key, "events") == 0) {
			struct select_ctx cx = { .scan = ld->c->scan, .doc = ld->d };
			if ((h->events = select_where(&cx, n, ld->e)) == NULL)
				return -1;
		} else if (strcmp(key, "retry_count") == 0) {
			if (want_int(ld, n, key, 0, 10, &v) != 0)
				return -1;
			h->retry_count = (int)v;
		} else if (strcmp(key, "timeout_seconds") == 0) {
			if (want_int(ld, n, key, 5, 120, &v) != 0)
				return -1;
			h->timeout_ms = v * 1000;
		} else if (strcmp(key, "connect_timeout_seconds") == 0) {
			if (want_int(ld, n, key, 1, 120, &v) != 0)
				return -1;
			h->connect_timeout_ms = v * 1000;
			have_connect = true;
		} else if (strcmp(key, "headers") == 0) {
			if (load_headers(ld, h, n) != 0)
				return -1;
		} else if (strcmp(key, "backoff") == 0) {
			if (load_backoff(ld, h, n) != 0)
				return -1;
		}
	}
	if (h->name == NULL)
		return yerr(ld->e, ld->d, m, "a webhook needs a name:");
	if (h->url == NULL)
		return yerr(ld->e, ld->d, m, "webhook %s needs a url:", h->name);
	if (secret != NULL) {
		if (load_secrets(ld, h, secret) != 0)
			return -1;
	} else if (h->format == FMT_STANDARD) {
		return yerr(ld->e, ld->d, m, "webhook %s needs a secret: (standard deliveries are signed)", h->name);
	}
	if (!have_connect)
		h->connect_timeout_ms = h->timeout_ms < 10000 ? h->timeout_ms : 10000;
	else if (h->connect_timeout_ms > h->timeout_ms)
		return yerr(ld->e, ld->d, ymap_get(m, "connect_timeout_seconds"),
		    "connect_timeout_seconds must not exceed timeout_seconds");
	return 0;
}

/* --- the file --------------------------------------------------------- */

static void
hook_free(struct webhook *h)
{
	free(h->name);
	free(h->url);
	free(h->origin);
	select_free(h->events);
	for (size_t i = 0; i < h->nheaders; i++)
		free(h->headers[i].line);
	free(h->headers);
	memset(h->secrets, 0, sizeof(h->secrets));
}

void
config_unref(struct config *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	for (size_t i = 0; i < c->nhooks; i++)
		hook_free(&c->hooks[i]);
	free(c->hooks);
	scan_free(c->scan);
	yamlcfg_free(&c->doc);
	free(c);
}

static int
load(struct loader *ld)
{
	const struct ynode *root = ld->d->root, *list;

	if (root == NULL)
		return err_set(ld->e, ld->d->file, 1, 1, "the file is empty: it needs webhooks:");
	if (root->kind != Y_MAP)
		return yerr(ld->e, ld->d, root, "a webhooks file is a mapping with one key, webhooks:");
	for (size_t i = 0; i < root->n; i += 2)
		if (strcmp(root->item[i]->str, "webhooks") != 0)
			return yerr(ld->e, ld->d, root->item[i],
			    "unknown key \"%s\" (a webhooks file holds webhooks:)", root->item[i]->str);
	if ((list = ymap_get(root, "webhooks")) == NULL)
		return yerr(ld->e, ld->d, root, "no webhooks: list");
	if (list->kind != Y_SEQ)
		return yerr(ld->e, ld->d, list, "webhooks must be a list, not %s", ykind_name(list));
	for (int f = 0; f < NFIELDS; f++)
		if ((ld->c->slot[f] = scan_path(ld->c->scan, field_paths[f])) < 0)
			return err_set(ld->e, NULL, 0, 0, "out of memory");
	if ((ld->c->hooks = calloc(list->n + 1, sizeof(struct webhook))) == NULL)
		return err_set(ld->e, NULL, 0, 0, "out of memory");
	for (size_t i = 0; i < list->n; i++) {
		struct webhook *h = &ld->c->hooks[i];
		ld->c->nhooks = i + 1;
		if (load_hook(ld, h, list->item[i]) != 0)
			return -1;
		for (size_t j = 0; j < i; j++) {
			const struct webhook *o = &ld->c->hooks[j];
			if (strcmp(o->name, h->name) == 0)
				return yerr(ld->e, ld->d, list->item[i],
				    "a second webhook named %s", h->name);
			/* Connections are shared per host, so whether private
			 * addresses are allowed must be too. */
			if (strcmp(o->origin, h->origin) == 0 && o->allow_private != h->allow_private)
				return yerr(ld->e, ld->d, list->item[i],
				    "webhooks %s and %s share %s but not allow_private",
				    o->name, h->name, h->origin);
		}
	}
	return 0;
}

struct config *
config_load(const char *path, struct sl_err *e)
{
	struct config *c = calloc(1, sizeof(*c));
	struct loader ld = { c, e, NULL };

	if (c == NULL) {
		err_set(e, path, 0, 0, "out of memory");
		return NULL;
	}
	c->refs = 1;
	if (yamlcfg_load(&c->doc, path, e) != 0) {
		free(c);
		return NULL;
	}
	ld.d = &c->doc;
	if ((c->scan = scan_new()) == NULL || load(&ld) != 0) {
		if (c->scan == NULL)
			err_set(e, path, 0, 0, "out of memory");
		config_unref(c);
		return NULL;
	}
	return c;
}
