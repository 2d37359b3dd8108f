/*
 * test-keytpl.c - unit tests of what rate-gate brought to common/: key
 * templates over raw JSON (keytpl), JSON string escapes (jstr), Redis URLs
 * (redisurl), the binary finish of the record hash, the clocks and
 * cli_choice().
 */
#include "cli.h"
#include "clock.h"
#include "err.h"
#include "hash.h"
#include "jscan.h"
#include "jstr.h"
#include "jw.h"
#include "keytpl.h"
#include "redisurl.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

/* Render template t over the JSON object doc; NULL when doc is not one.
 * Returns a static buffer; *missing gets the count of missing fields. */
static const char *
render(const char *t, const char *doc, int *missing)
{
	static char out[512];
	struct jscan_member m[64];
	struct jscan_err e;
	struct keytpl kt;
	struct sl_err se;
	struct jw w;
	size_t count;

	if (keytpl_compile(&kt, t, &se) != 0)
		return "(compile error)";
	if (jscan(doc, strlen(doc), m, 64, &count, &e) != '{') {
		keytpl_free(&kt);
		return NULL;
	}
	jw_init(&w, -1);
	*missing = keytpl_render(&kt, m, count, &w);
	snprintf(out, sizeof(out), "%.*s", (int)w.len, w.buf);
	jw_free(&w);
	keytpl_free(&kt);
	return out;
}

static void
test_keytpl(void)
{
	int missing = -1;

	is_str(render("{rule.id}:{source.ip}", "{\"rule\":{\"id\":\"r1\"},\"source\":{\"ip\":\"10.0.0.1\"}}", &missing),
	    "r1:10.0.0.1", "nested fields render as their text");
	is_int(missing, 0, "no field missing");
	is_str(render("{a.b}", "{\"a.b\":\"flat\",\"a\":{\"b\":\"nested\"}}", &missing), "flat",
	    "a flat dotted key wins over descending (jpath's rule)");
	is_str(render("{a.b.c}", "{\"a.b\":{\"c\":1},\"a\":{\"b\":{\"c\":2}}}", &missing), "1",
	    "the longest flat prefix that is an object is followed");
	is_str(render("{s}", "{\"s\":\"x\\u00e9\\n\\\"\\ud83d\\ude00\"}", &missing),
	    "x\xc3\xa9\n\"\xf0\x9f\x98\x80", "string escapes are decoded, surrogate pairs included");
	is_str(render("{s}", "{\"s\":\"\\ud800x\"}", &missing), "\xef\xbf\xbdx",
	    "a lone surrogate becomes U+FFFD");
	is_str(render("{n}|{t}|{z}", "{\"n\":-1.50e3,\"t\":true,\"z\":null}", &missing),
	    "-1.50e3|true|null", "numbers and literals render as written");
	is_str(render("{g}", "{\"g\":{\"b\":[1,{\"d\":1,\"c\":2}],\"a\":\"x\"}}", &missing),
	    "{\"a\":\"x\",\"b\":[1,{\"c\":2,\"d\":1}]}", "an object renders as canonical JSON, keys sorted at every depth");
	is_str(render("x{missing}y{a}", "{\"a\":1}", &missing), "xy1", "a missing field renders empty");
	is_int(missing, 1, "and is counted");
	is_str(render("{a.b}", "{\"a\":\"not an object\"}", &missing), "",
	    "a path through a non-object is missing");
	is_str(render("{{literal}} {k}", "{\"k\":\"v\"}", &missing), "{literal} v",
	    "doubled braces are literal");
	is_str(render("{\\u006b}", "{\"\\u006b\":\"escaped key\"}", &missing), "",
	    "a template path is not unescaped (a literal backslash)");
	is_str(render("{k}", "{\"\\u006b\":\"escaped key\"}", &missing), "escaped key",
	    "a member key written with escapes is matched by its text");
	is_str(render("", "{\"a\":1}", &missing), "", "an empty template is one key");

	/* Deep paths use the scratch array: many members at a nested level. */
	char doc[4096];
	size_t n = (size_t)snprintf(doc, sizeof(doc), "{\"o\":{");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "\"k%d\":%d,", i, i);
	snprintf(doc + n - 1, sizeof(doc) - n + 1, "}}");
	is_str(render("{o.k99}", doc, &missing), "99", "a member past the first 64 of a nested object is found");

	struct keytpl kt;
	struct sl_err e;
	ok(keytpl_compile(&kt, "a{b", &e) == -1 && e.col == 2 && strstr(e.msg, "unclosed") != NULL,
	    "an unclosed brace is an error at its column (%s)", e.msg);
	ok(keytpl_compile(&kt, "a{}", &e) == -1 && e.col == 2, "an empty field is an error");
	ok(keytpl_compile(&kt, "{a{b}", &e) == -1, "a brace inside a field is an error");
}

static void
test_jstr(void)
{
	ok(jstr_equal("abc", 3, "abc", 3), "plain text equals itself");
	ok(!jstr_equal("abc", 3, "abd", 3), "and not other text");
	ok(jstr_equal("a\\/b", 4, "a/b", 3), "an escaped slash equals a slash");
	ok(!jstr_equal("a\\/b", 4, "a\\/b", 4), "escapes compare by what they mean");
	char out[16];
	size_t k = jstr_unescape("\\b\\f\\t\\r\\\\", 10, out);
	is_mem(out, k, "\b\f\t\r\\", 5, "the one-letter escapes decode");
}

static void
url_is(const char *s, const char *host, int port, const char *path, const char *user,
    const char *pass, int db, const char *safe)
{
	struct redis_url u;
	struct sl_err e;

	if (!ok(redis_url_parse(s, &u, &e) == 0, "\"%s\" parses", s)) {
		fprintf(stderr, "#   %s\n", e.msg);
		return;
	}
	bool good = (host ? u.host && strcmp(u.host, host) == 0 : !u.host) &&
	    u.port == port && (path ? u.path && strcmp(u.path, path) == 0 : !u.path) &&
	    (user ? u.user && strcmp(u.user, user) == 0 : !u.user) &&
	    (pass ? u.password && strcmp(u.password, pass) == 0 : !u.password) &&
	    u.db == db && strcmp(u.safe, safe) == 0;
	ok(good, "  its parts are right (%s)", u.safe);
	redis_url_free(&u);
}

static void
url_bad(const char *s, const char *why)
{
	struct redis_url u;
	struct sl_err e;

	ok(redis_url_parse(s, &u, &e) == -1 && strstr(e.msg, why) != NULL,
	    "\"%s\" is refused: %s", s, e.msg);
}

static void
test_redisurl(void)
{
	url_is("redis://localhost", "localhost", 6379, NULL, NULL, NULL, 0, "redis://localhost:6379");
	url_is("redis://h:7000/3", "h", 7000, NULL, NULL, NULL, 3, "redis://h:7000");
	url_is("redis://:p%40ss@h/1", "h", 6379, NULL, NULL, "p@ss", 1, "redis://h:6379");
	url_is("redis://alice:pw@h:1", "h", 1, NULL, "alice", "pw", 0, "redis://h:1");
	url_is("redis://[::1]:6380/2", "::1", 6380, NULL, NULL, NULL, 2, "redis://[::1]:6380");
	url_is("unix:///run/redis.sock", NULL, 6379, "/run/redis.sock", NULL, NULL, 0, "unix:///run/redis.sock");
	url_is("unix:///r.sock?db=4&password=x%2Fy", NULL, 6379, "/r.sock", NULL, "x/y", 4, "unix:///r.sock");
	url_is("unix://:pw@/r.sock", NULL, 6379, "/r.sock", NULL, "pw", 0, "unix:///r.sock");
	url_bad("http://h", "must start with");
	url_bad("rediss://h", "TLS");
	url_bad("redis://h:0", "port");
	url_bad("redis://h:65536", "port");
	url_bad("redis://h:x", "port");
	url_bad("redis://", "no host");
	url_bad("redis://h/x", "database");
	url_bad("unix://r.sock", "absolute");
	url_bad("unix:///r.sock?db=", "db");
	url_bad("unix:///r.sock?timeout=1", "unknown query");
	url_bad("redis://alice@h", "needs a password");
	url_bad("redis://:p%4@h", "escape");
	url_bad("redis://[::1", "unclosed");
}

static void
test_hash_final(void)
{
	struct hash128 h = hash128_seed(0);
	char hex[33], want[33];

	hash128_update(&h, "key", 3);
	struct hash128 f = hash128_final(h, 3);
	hash128_hex(h, 3, hex);
	hex[32] = '\0';
	/* hash128_hex writes lo then hi, each as 16 digits. */
	snprintf(want, sizeof(want), "%016llx%016llx", (unsigned long long)f.lo,
	    (unsigned long long)f.hi);
	is_str(hex, want, "hash128_final() is the value hash128_hex() prints");
}

static void
test_clock_choice(void)
{
	static const char *const names[] = { "drop", "tag", "divert", NULL };
	int64_t w = clock_wall_us(), m1 = clock_mono_ms(), m2 = clock_mono_ms();

	ok(w > 1600000000LL * 1000000 && w < 4100000000LL * 1000000,
	    "the wall clock is in microseconds since the epoch");
	ok(m2 >= m1, "the monotonic clock does not go back");
	is_int(cli_choice("tag", names), 1, "cli_choice finds a word's index");
	is_int(cli_choice("divert", names), 2, "  the last one too");
	is_int(cli_choice("Tag", names), -1, "  case counts");
	is_int(cli_choice("", names), -1, "  an empty word is none");
}

int
main(void)
{
	test_keytpl();
	test_clock_choice();
	test_jstr();
	test_redisurl();
	test_hash_final();
	return done();
}
