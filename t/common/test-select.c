/*
 * test-select.c - unit tests of the YAML loader, the field scanner and the
 * selection matcher: every modifier, the condition grammar and its
 * precedence, lists, the type rules, and the errors with their positions.
 */
#include "scan.h"
#include "select.h"
#include "tap.h"
#include "yamlcfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sl_err err;

/* Compile YAML text holding `where:` (or `detection:`) plus optional
 * `lists:`; NULL on error (err filled). */
struct compiled {
	struct ydoc doc;
	struct scan *scan;
	struct select *sel;
	struct select_list lists[4];
};

static bool
compile(struct compiled *c, const char *yaml)
{
	memset(c, 0, sizeof(*c));
	memset(&err, 0, sizeof(err));
	if (yamlcfg_load_string(&c->doc, "t.yaml", yaml, strlen(yaml), &err) != 0)
		return false;
	c->scan = scan_new();
	struct select_ctx cx = { .scan = c->scan, .doc = &c->doc, .lists = c->lists };
	const struct ynode *lists = ymap_get(c->doc.root, "lists");
	for (size_t i = 0; lists != NULL && i < lists->n && i / 2 < 4; i += 2) {
		c->lists[cx.nlists].name = lists->item[i]->str;
		c->lists[cx.nlists++].values = lists->item[i + 1];
	}
	const struct ynode *w = ymap_get(c->doc.root, "where");
	const struct ynode *d = ymap_get(c->doc.root, "detection");
	c->sel = w ? select_where(&cx, w, &err) : select_detection(&cx, d, &err);
	return c->sel != NULL;
}

static void
release(struct compiled *c)
{
	select_free(c->sel);
	scan_free(c->scan);
	yamlcfg_free(&c->doc);
}

/* Does the selection in yaml match the record? -1 when either fails.
 * Every answer is checked three ways: plain matching, then through a
 * memo (select_memo_add) for a value it has not seen, then for the same
 * value again (its cached results); -2 when they disagree. */
static int
matches(const char *yaml, const char *record)
{
	struct compiled c;
	if (!compile(&c, yaml)) {
		fprintf(stderr, "#   compile: %s:%u:%u: %s\n", err.file, err.line, err.col, err.msg);
		release(&c);
		return -1;
	}
	struct sval vals[64];
	struct jscan_err je;
	int r = -1;
	if (scan_record(c.scan, record, strlen(record), vals, &je) != 0) {
		fprintf(stderr, "#   scan: %s\n", je.msg);
		release(&c);
		return -1;
	}
	r = select_match(c.sel, vals);
	struct select_memo *m = select_memo_new(c.scan);
	if (m == NULL || select_memo_add(m, c.sel) != 0) {
		fprintf(stderr, "#   out of memory\n");
		r = -1;
	}
	for (int pass = 0; r >= 0 && pass < 2; pass++) {
		scan_record(c.scan, record, strlen(record), vals, &je);
		int again = select_match(c.sel, vals);
		if (again != r) {
			fprintf(stderr, "#   plain matching says %d, memoised (pass %d) %d\n",
			    r, pass + 1, again);
			r = -2;
		}
	}
	uint64_t hits, misses;
	if (m != NULL && r >= 0) {
		select_memo_stats(m, &hits, &misses);
		if (misses == 0 || hits < misses) {
			fprintf(stderr, "#   the memo missed %llu times and hit %llu on one record\n",
			    (unsigned long long)misses, (unsigned long long)hits);
			r = -2;
		}
	}
	select_memo_free(m);
	release(&c);
	return r;
}

#define YES(y, r, what) is_int(matches(y, r), 1, "%s", what)
#define NO(y, r, what) is_int(matches(y, r), 0, "%s", what)

/* Keys are remembered by their place in the last record: records whose
 * keys differ at the same places, empty keys, long keys and escaped keys
 * must still find exactly their own fields. */
static void
test_scan_places(void)
{
	struct scan *sc = scan_new();
	int a = scan_path(sc, "a"), ab = scan_path(sc, "x.a"),
	    lng = scan_path(sc, "a_key_longer_than_twenty_four_bytes");
	struct sval v[3];
	struct jscan_err e;
	static const struct {
		const char *rec;
		int a, ab, lng;		/* the digit each holds, -1: missing */
	} recs[] = {
		{ "{\"\":{\"a\":1},\"a\":2}", 2, -1, -1 },
		{ "{\"a\":3,\"x\":{\"a\":4}}", 3, 4, -1 },
		{ "{\"x\":{\"a\":5},\"a\":6}", 6, 5, -1 },
		{ "{\"b\":{\"a\":7},\"a\":8}", 8, -1, -1 },
		{ "{\"\\u0061\":1,\"x\":{\"a\":2}}", 1, 2, -1 },
		{ "{\"a_key_longer_than_twenty_four_bytes\":3,\"a\":4}", 4, -1, 3 },
		{ "{\"a_key_longer_than_twenty_four_bytez\":5,\"a\":6}", 6, -1, -1 },
		{ "{\"\":{\"a\":7},\"a\":8}", 8, -1, -1 },
	};
	bool right = true;
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
			const int want[3] = { recs[i].a, recs[i].ab, recs[i].lng };
			const int slot[3] = { a, ab, lng };
			right = right && scan_record(sc, recs[i].rec, strlen(recs[i].rec), v, &e) == 0;
			for (int f = 0; right && f < 3; f++) {
				const struct sval *x = &v[slot[f]];
				bool ok1 = want[f] < 0 ? x->type == 0 :
				    x->type == '0' && x->len == 1 && x->p[0] == '0' + want[f];
				if (!ok1)
					fprintf(stderr, "#   %s: field %d wrong\n", recs[i].rec, f);
				right = right && ok1;
			}
		}
	ok(right, "keys at the same places in successive records find their own fields");
	scan_free(sc);
}

static void
test_scan(void)
{
	struct scan *sc = scan_new();
	int ip = scan_path(sc, "source.ip"), msg = scan_path(sc, "message");
	int port = scan_path(sc, "source.port"), deep = scan_path(sc, "a.b.c");
	is_int(scan_path(sc, "source.ip"), ip, "a path registered twice keeps its slot");
	is_int(scan_path(sc, "a..b"), -1, "a path with an empty step is refused");
	is_int((long long)scan_slots(sc), 4, "four distinct paths, four slots");

	struct sval v[4];
	struct jscan_err e;
	const char *rec = "{\"message\":\"a\\\"b\\u00e9\",\"source\":{\"port\":22,\"ip\":\"10.0.0.1\"},"
	    "\"a\":{\"b\":{\"c\":[1,2]}},\"x\":{\"source\":1}}";
	is_int(scan_record(sc, rec, strlen(rec), v, &e), 0, "a record is scanned");
	ok(v[ip].type == '"' && v[ip].len == 8 && memcmp(v[ip].p, "10.0.0.1", 8) == 0,
	    "a nested string field is found");
	ok(v[msg].type == '"' && v[msg].len == 5 && memcmp(v[msg].p, "a\"b\xc3\xa9", 5) == 0,
	    "a string with escapes is decoded");
	ok(v[port].type == '0' && v[port].len == 2, "a number field keeps its JSON text");
	ok(v[deep].type == '[' && v[deep].len == 5, "an array field is its JSON text");

	const char *flat = "{\"source.ip\":\"1.2.3.4\",\"source\":{\"ip\":\"5.6.7.8\"}}";
	is_int(scan_record(sc, flat, strlen(flat), v, &e), 0, "a record with a flat dotted key");
	ok(v[ip].type == '"' && memcmp(v[ip].p, "1.2.3.4", 7) == 0,
	    "a flat dotted key counts and the first in the text wins");
	ok(v[msg].type == 0 && v[port].type == 0, "absent fields are missing");

	is_int(scan_record(sc, "[1]", 3, v, &e), -1, "an array is not a record");
	is_int(scan_record(sc, "{\"a\":}", 6, v, &e), -1, "invalid JSON is refused");
	scan_free(sc);

	size_t pos = 0;
	struct sval el;
	char buf[8];
	const char *arr = "[ \"a\\n\" , 2,{\"x\":[1]},[3] ,true]";
	int n = 0;
	bool right = true;
	while (scan_element(arr, strlen(arr), &pos, &el, buf, sizeof(buf))) {
		static const char types[] = "\"0{[t";
		right = right && n < 5 && el.type == types[n];
		n++;
	}
	ok(right && n == 5, "scan_element walks every element of an array");
}

/* Keys guessed from the last record (on_guess) against keys read: every
 * one-byte change and cut of a few records, scanned right after the
 * record itself (so every key is guessed where it can be) and by a
 * scanner that never saw it, must give the same answer and fields. */
static void
test_scan_guess(void)
{
	static const char *const paths[] = { "a", "ab", "x.a", "x.ab", "y" };
	static const char *const base[] = {
		"{\"a\":1,\"x\":{\"a\":\"two\",\"ab\":3},\"ab\":[4],\"y\":null}",
		"{\"ab\":1,\"x\":{\"ab\":2,\"a\":3},\"a\":\"q\\\"\",\"y\":true}",
		"{\"x\":{},\"a\":{\"a\":1},\"y\":\"\",\"zz\":0}",
	};
	static const char subst[] = "\"\\:,{}ab \x01x0";
	enum { NP = sizeof(paths) / sizeof(paths[0]) };
	struct scan *primed = scan_new();
	int slot[NP];
	for (size_t i = 0; i < NP; i++)
		slot[i] = scan_path(primed, paths[i]);
	unsigned long tried = 0, wrong = 0;
	for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
		size_t n = strlen(base[b]);
		for (size_t i = 0; i <= n; i++)
			for (size_t c = 0; c < sizeof(subst); c++) {
				char t[128];
				size_t len = n;
				memcpy(t, base[b], n + 1);
				if (i < n && c < sizeof(subst) - 1)
					t[i] = subst[c];
				else if (i < n)
					len = i;	/* cut */
				else if (c > 0)
					continue;
				struct scan *fresh = scan_new();
				for (size_t k = 0; k < NP; k++)
					scan_path(fresh, paths[k]);
				struct sval pv[NP], fv[NP];
				struct jscan_err pe, fe;
				scan_record(primed, base[b], n, pv, &pe);
				int pr = scan_record(primed, t, len, pv, &pe);
				int fr = scan_record(fresh, t, len, fv, &fe);
				bool same = pr == fr && (pr != 0 || (pe.pos == fe.pos &&
				    strcmp(pe.msg, fe.msg) == 0));
				for (size_t k = 0; same && pr == 0 && k < NP; k++) {
					const struct sval *x = &pv[slot[k]], *y = &fv[slot[k]];
					same = x->type == y->type && x->len == y->len &&
					    (x->type == 0 || memcmp(x->p, y->p, x->len) == 0);
				}
				if (!same && wrong++ < 5)
					fprintf(stderr, "#   %.*s: guessed %d, read %d\n", (int)len, t, pr, fr);
				tried++;
				scan_free(fresh);
			}
	}
	ok(wrong == 0 && tried > 1000,
	    "keys guessed from the last record agree with keys read (%lu records)", tried);
	scan_free(primed);
}

static void
test_yaml(void)
{
	struct ydoc d;
	is_int(yamlcfg_load_string(&d, "x.yaml", "a: [1, 'b']\nc:\n  d: ~\n", 22, &err), 0,
	    "a small document loads");
	const struct ynode *a = ymap_get(d.root, "a"), *c = ymap_get(d.root, "c");
	ok(a && a->kind == Y_SEQ && a->n == 2 && !a->item[0]->quoted && a->item[1]->quoted,
	    "lists, quoting kept");
	ok(c && c->line == 3 && c->col == 3, "a node knows its line and column (%u:%u)",
	    c ? c->line : 0, c ? c->col : 0);
	ok(yscalar_is_null(ymap_get(c, "d")), "~ is null");
	yamlcfg_free(&d);

	is_int(yamlcfg_load_string(&d, "x.yaml", "a: 1\na: 2\n", 10, &err), -1,
	    "a duplicate key is an error");
	ok(err.line == 2 && err.col == 1 && strstr(err.msg, "duplicate key") != NULL,
	    "at the second key (%u:%u %s)", err.line, err.col, err.msg);
	is_int(yamlcfg_load_string(&d, "x.yaml", "a: [1\n", 6, &err), -1,
	    "a syntax error is an error");
	ok(err.line >= 1 && strcmp(err.file, "x.yaml") == 0, "naming the file and a line");
	is_int(yamlcfg_load_string(&d, "x.yaml", "a: &x 1\nb: *x\n", 14, &err), -1,
	    "an alias is refused");
	is_int(yamlcfg_load(&d, "/nonexistent/x.yaml", &err), -1, "a missing file is an error");
}

static void
test_values(void)
{
	const char *r = "{\"user\":{\"name\":\"Root\"},\"n\":404,\"s\":\"404\",\"b\":true,"
	    "\"z\":null,\"e\":\"\",\"tags\":[\"web\",\"Prod\"],\"o\":{\"k\":1},"
	    "\"path\":\"C:\\\\Windows\\\\x.exe\",\"ip\":\"10.1.2.3\",\"ip6\":\"fd00::1\","
	    "\"m\":\"::ffff:192.168.0.9\",\"f\":2.5}";

	YES("where: {user.name: root}", r, "plain strings compare case-insensitively");
	NO("where: {user.name|cased: root}", r, "cased compares exactly");
	YES("where: {user.name|cased: Root}", r, "cased matches the exact text");
	YES("where: {user.name: [admin, root]}", r, "a list of values matches any of them");
	NO("where: {user.name|all: [root, admin]}", r, "all needs every value");
	YES("where: {user.name: 'r*t'}", r, "* matches any run");
	YES("where: {user.name: 'r??t'}", r, "? matches one character");
	NO("where: {user.name: 'r?t'}", r, "? matches exactly one character");
	YES("where: {path: 'c:\\windows\\\\*'}", r, "a backslash before a letter is literal; \\\\ before a wildcard is one backslash");
	NO("where: {user.name: 'ro\\*'}", r, "\\* is a literal star");
	YES("where: {user.name|contains: OO}", r, "contains");
	YES("where: {user.name|startswith: ro}", r, "startswith");
	YES("where: {user.name|endswith: OT}", r, "endswith");
	NO("where: {user.name|endswith: ro}", r, "endswith at the end only");
	YES("where: {user.name|contains: 'o*t'}", r, "contains with a wildcard");
	YES("where: {user.name|contains|all: [ro, ot]}", r, "contains|all");
	NO("where: {user.name|contains|all: [ro, xx]}", r, "contains|all needs every value");
	YES("where: {user.name|re: '^R.o'}", r, "re searches case-sensitively");
	NO("where: {user.name|re: '^r.o'}", r, "re is cased by default");
	YES("where: {user.name|re|i: '^r.o'}", r, "re|i ignores case");
	YES("where: {user.name|re: 'oo'}", r, "re is an unanchored search");
	YES("where: {ip|cidr: 10.0.0.0/8}", r, "cidr IPv4");
	NO("where: {ip|cidr: 10.0.0.0/16}", r, "cidr IPv4 outside the block");
	YES("where: {ip|cidr: [192.168.0.0/16, 10.1.2.3]}", r, "cidr of a bare address or any block");
	YES("where: {ip6|cidr: 'fd00::/8'}", r, "cidr IPv6");
	NO("where: {ip6|cidr: 10.0.0.0/8}", r, "an IPv6 address is not in an IPv4 block");
	YES("where: {m|cidr: 192.168.0.0/16}", r, "an IPv4-mapped IPv6 address is its IPv4 address");
	NO("where: {user.name|cidr: 10.0.0.0/8}", r, "a non-address never matches cidr");
	YES("where: {n|gt: 400}", r, "gt");
	NO("where: {n|gt: 404}", r, "gt is strict");
	YES("where: {n|gte: 404}", r, "gte");
	YES("where: {n|lt: 404.5}", r, "lt");
	YES("where: {n|lte: 404}", r, "lte");
	YES("where: {s|gte: 404}", r, "a numeric string compares as a number");
	NO("where: {user.name|gt: 1}", r, "a non-number never compares");
	YES("where: {f|lt: 3}", r, "a fraction compares");
	YES("where: {user.name|exists: true}", r, "exists: true on a present field");
	YES("where: {nope|exists: false}", r, "exists: false on a missing field");
	NO("where: {z|exists: true}", r, "a null field does not exist");
	YES("where: {user.name|neq: admin}", r, "neq");
	NO("where: {user.name|neq: root}", r, "neq of the same value");
	YES("where: {nope|neq: x}", r, "neq of a missing field is true");
	YES("where: {n: 404}", r, "a plain number compares numerically");
	YES("where: {n: 404.0}", r, "404.0 equals 404");
	YES("where: {s: 404}", r, "a plain number matches a string holding it");
	YES("where: {n: '404'}", r, "a quoted number is text, matching a number's text");
	YES("where: {n: '40*'}", r, "wildcards apply to a number's text");
	YES("where: {b: true}", r, "true matches a boolean");
	NO("where: {b: false}", r, "false does not match true");
	YES("where: {z: null}", r, "null matches a JSON null");
	YES("where: {nope: ~}", r, "null matches a missing field");
	NO("where: {e: null}", r, "null does not match an empty string");
	YES("where: {e: ''}", r, "'' matches an empty string");
	NO("where: {nope: ''}", r, "'' does not match a missing field");
	NO("where: {nope: '*'}", r, "* does not match a missing field");
	YES("where: {nope: [~, 'adm*']}", r, "null beside a wildcard value still matches a missing field");
	is_int(matches("where: {s|gt: 0x10}", r), -1, "hex is not a number: gt 0x10 does not compile");
	NO("where: {hex|gt: 1}", "{\"hex\":\"0x11\"}", "a string holding hex is not a number");
	YES("where: {tags: prod}", r, "an array field matches when an element does");
	YES("where: {tags|all: [web, prod]}", r, "all over an array: every value in some element");
	NO("where: {tags: dev}", r, "no element, no match");
	NO("where: {o: '*'}", r, "an object matches no value");
	YES("where: {o|exists: true}", r, "an object exists");
	YES("where: {o.k: 1}", r, "a path into an object");
	YES("where: {user.name: root, n: 404}", r, "a mapping is AND");
	NO("where: {user.name: root, n: 500}", r, "a mapping fails when one field fails");
	YES("where: [{n: 500}, {b: true}]", r, "a list of mappings is OR");
	YES("lists: {admins: [admin, ROOT]}\nwhere: {user.name|expand: '%admins%'}", r,
	    "expand replaces %name% with the list");
	NO("lists: {admins: [admin]}\nwhere: {user.name|expand: '%admins%'}", r,
	    "expand: no list member matches");
}

/* contains looks at sixteen positions a step: needles at every offset
 * around the step boundaries and at the very end must be found, and
 * near misses must not. */
static void
test_contains(void)
{
	char rec[256], yaml[128];
	const char *text = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t n = strlen(text);
	bool all = true;
	snprintf(rec, sizeof(rec), "{\"f\":\"%s\"}", text);
	for (size_t len = 1; len <= 5 && all; len++)
		for (size_t at = 0; at + len <= n && all; at++) {
			snprintf(yaml, sizeof(yaml), "where: {f|contains|cased: '%.*s'}", (int)len, text + at);
			all = matches(yaml, rec) == 1;
			if (!all)
				fprintf(stderr, "#   missed \"%.*s\" at %zu\n", (int)len, text + at, at);
		}
	ok(all, "contains finds needles of 1 to 5 bytes at every offset of a 62-byte field");
	NO("where: {f|contains|cased: 'XYZ0'}", rec, "a needle running past the end is not found");
	NO("where: {f|contains|cased: 'ab0'}", rec, "first and last bytes right, middle wrong");
	YES("where: {f|contains: 'XYZ'}", rec, "contains ignores case on a long field");
	YES("where: {f: '0123456789abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz'}", rec,
	    "a long field with capitals only past sixteen bytes is lower-cased whole");
	YES("where: {f: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ'}", rec,
	    "and a capitalised pattern compares the same");
	YES("where: {g: 'é@[`{a'}", "{\"g\":\"é@[`{A\"}",
	    "only A to Z are folded: é, @, [, ` and { stay as they are");
	NO("where: {f|contains|cased: 'xyz0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'}",
	    rec, "a needle longer than the field");
}

static void
test_conditions(void)
{
	const char *r = "{\"a\":1,\"b\":2,\"c\":3}";
	const char *sels = "detection:\n  sel_a: {a: 1}\n  sel_b: {b: 2}\n  no_c: {c: 9}\n";
	char y[512];
#define COND(c, want, what) do { \
		snprintf(y, sizeof(y), "%s  condition: %s\n", sels, c); \
		is_int(matches(y, r), want, "%s", what); \
	} while (0)
	COND("sel_a", 1, "a selection name");
	COND("sel_a and sel_b", 1, "and");
	COND("sel_a and no_c", 0, "and fails with one false");
	COND("no_c or sel_b", 1, "or");
	COND("not no_c", 1, "not");
	COND("no_c and sel_a or sel_b", 1, "and binds tighter than or (true)");
	COND("sel_b or no_c and not sel_a", 1, "and binds tighter than or (right side)");
	COND("no_c and (sel_a or sel_b)", 0, "parentheses group");
	COND("not no_c and sel_a", 1, "not binds tighter than and");
	COND("not (no_c or sel_a)", 0, "not of a group");
	COND("1 of sel_*", 1, "1 of a pattern");
	COND("all of sel_*", 1, "all of a pattern");
	COND("all of them", 0, "all of them");
	COND("1 of them", 1, "1 of them");
	COND("any of no_*", 0, "any of: only no_c, false");
	COND("not 1 of no_* and all of sel_*", 1, "quantifiers inside expressions");
#undef COND
}

struct bad {
	const char *yaml, *msg;
	unsigned line, col;
};

static const struct bad bad[] = {
	{ "where: {a|contians: x}", "unknown modifier \"contians\"", 1, 11 },
	{ "where: {a|re: '(x'}", "bad regular expression", 1, 18 },
	{ "where: {a|gt: abc}", "is not a number", 1, 15 },
	{ "where: {a|cidr: 10.0.0.0/33}", "is not an IPv4 or IPv6", 1, 17 },
	{ "where: {a|exists: maybe}", "exists takes true or false", 1, 19 },
	{ "where: {a: {b: 1}}", "not a mapping", 1, 12 },
	{ "where: {}", "an empty selection", 1, 8 },
	{ "where: x", "a selection must be a mapping", 1, 8 },
	{ "where: {a|expand: '%nope%'}", "no list named \"nope\"", 1, 19 },
	{ "where: {a|contains|startswith: x}", "modifier \"startswith\" after \"contains\"", 1, 20 },
	{ "detection:\n  sel: {a: 1}\n  condition: sel and other\n", "unknown selection \"other\"", 3, 22 },
	{ "detection:\n  sel: {a: 1}\n  condition: sel and (sel\n", "never closed", 3, 22 },
	{ "detection:\n  sel: {a: 1}\n  condition: 1 of x_*\n", "no selection matches \"x_*\"", 3, 19 },
	{ "detection:\n  sel: {a: 1}\n", "detection has no condition", 2, 3 },
	{ "detection:\n  sel: {a: 1}\n  condition: sel sel\n", "unexpected \"sel\"", 3, 18 },
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct compiled c;
		bool failed = !compile(&c, bad[i].yaml);
		release(&c);
		bool right = failed && strstr(err.msg, bad[i].msg) != NULL &&
		    err.line == bad[i].line && err.col == bad[i].col &&
		    strcmp(err.file, "t.yaml") == 0;
		if (!ok(right, "error \"%s\" at %u:%u", bad[i].msg, bad[i].line, bad[i].col))
			fprintf(stderr, "#   got %s:%u:%u: %s\n", err.file, err.line, err.col,
			    failed ? err.msg : "(compiled)");
	}
}

/* The memo against plain matching over many records: more distinct
 * values than its table holds (collisions, evictions), values too long
 * to keep, escapes, arrays, numbers as text, missing fields, and a field
 * whose values never repeat (the memo stops caching it for a while).
 * Each rule is asked on its own, and all of them as the memo's list
 * (select_memo_list), which skips those a field value rules out. */
static const char *const memo_rules[] = {
	"where: {u|startswith: /api/, s|gte: 500}",
	"where: {u|contains: ['../', '%2e%2e', x7]}",
	"where: {u|endswith: [.php, '3']}",
	"where: {u|re: '^/a[0-9]+5$'}",
	"where: {a|contains: Bot, s: [200, 404]}",
	"where: {a|cased|contains: Bot}",
	"where: {ip|cidr: [10.0.0.0/8, '2001:db8::/32']}",
	"where: {n|gt: 90000}",
	"where: {n|lt: 20, a|exists: false}",
	"where: {u: /api/1*}",
	"where: [{s: 404}, {a: null}]",
	"where: {tags: web}",
	"detection:\n  x: {u|contains: '/a1'}\n  y: {s: 200}\n  condition: x and not y\n",
	"detection:\n  x: {u|endswith: '7'}\n  y: {s: 404, ip|cidr: 10.0.0.0/8}\n"
	"  z: {a|contains: bot}\n  condition: (x or z) and not y\n",
	"detection:\n  x: {u|startswith: /a}\n  y: {n|gt: 50000}\n  condition: x or y\n",
};

enum { MEMO_RULES_MAX = 32 };

/* compile() into a scan and a memo shared with other rules, as a rule
 * set does. */
static bool
compile_memo(struct compiled *c, struct scan *shared, struct select_memo *m,
    const char *yaml)
{
	memset(c, 0, sizeof(*c));
	if (yamlcfg_load_string(&c->doc, "t.yaml", yaml, strlen(yaml), &err) != 0)
		return false;
	struct select_ctx cx = { .scan = shared, .doc = &c->doc };
	const struct ynode *w = ymap_get(c->doc.root, "where");
	c->sel = w ? select_where(&cx, w, &err) :
	    select_detection(&cx, ymap_get(c->doc.root, "detection"), &err);
	return c->sel != NULL && select_memo_add(m, c->sel) == 0;
}

struct memo_run {
	unsigned long same, listed, fired, wrong;
	uint64_t hits, misses;
};

/* Rules nr of rules, plain and through one shared memo, each asked on its
 * own and all of them as the memo's list, over n records from record(i,
 * buf, cap) (the length, or 0 to skip).  The list is asked first on even
 * records, last on odd ones: both orders of filling the memo.  false
 * when a rule does not compile. */
static bool
memo_run(const char *const *rules, size_t nr, int (*record)(int, char *, size_t), int n,
    struct memo_run *out)
{
	struct compiled plain[MEMO_RULES_MAX], memo[MEMO_RULES_MAX];
	const struct select *list[MEMO_RULES_MAX];
	struct scan *shared = scan_new();
	struct select_memo *m = select_memo_new(shared);
	bool built = m != NULL && nr <= MEMO_RULES_MAX;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; built && i < nr; i++) {
		built = compile(&plain[i], rules[i]);
		built = compile_memo(&memo[i], shared, m, rules[i]) && built;
		list[i] = memo[i].sel;
	}
	built = built && select_memo_list(m, list, nr) == 0;
	if (!built) {
		fprintf(stderr, "#   %s\n", err.msg);
		return false;
	}
	char rec[1024];
	struct sval pv[64], mv[64];
	struct jscan_err je;
	uint32_t hit[MEMO_RULES_MAX];
	for (int i = 0; i < n; i++) {
		int k = record(i, rec, sizeof(rec));
		if (k <= 0)
			continue;
		if (scan_record(shared, rec, (size_t)k, mv, &je) != 0) {
			out->wrong++;
			continue;
		}
		size_t nhit = 0, h = 0;
		for (int pass = 0; pass < 2; pass++) {
			bool listing = pass == i % 2;
			if (listing)
				nhit = select_match_all(list, nr, mv, hit);
			for (size_t j = 0; j < nr; j++) {
				if (scan_record(plain[j].scan, rec, (size_t)k, pv, &je) != 0) {
					out->wrong++;
					continue;
				}
				bool a = select_match(plain[j].sel, pv), b;
				if (listing) {
					b = h < nhit && hit[h] == j;
					h += b;
					out->fired += b;
					out->listed += a == b;
				} else {
					b = select_match(memo[j].sel, mv);
					out->same += a == b;
				}
				if (a != b && out->wrong++ < 5)
					fprintf(stderr, "#   rule %zu, %s: plain %d, %s %d\n", j, rec, a,
					    listing ? "list" : "memo", b);
			}
		}
	}
	select_memo_stats(m, &out->hits, &out->misses);
	for (size_t i = 0; i < nr; i++) {
		release(&plain[i]);
		select_free(memo[i].sel);
		yamlcfg_free(&memo[i].doc);
	}
	select_memo_free(m);
	scan_free(shared);
	return true;
}

static int
memo_record(int i, char *rec, size_t cap)
{
	static const char *const agents[] = { "Mozilla/5.0", "Googlebot/2.1", "curl/8.5",
		"a\\u0042ot", "[\"x\",\"Bot\"]" };
	static unsigned long seed = 7;
	char longpath[400], agent[64], a[80];
	memset(longpath, 'z', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	(void)i;
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	unsigned r = (unsigned)(seed >> 33);
	const char *ag = agents[r % 5];
	snprintf(agent, sizeof(agent), ag[0] == '[' ? "%s" : "\"%s\"", ag);
	snprintf(a, sizeof(a), "\"a\":%s,", agent);
	int k = snprintf(rec, cap,
	    "{\"u\":\"/%s%u%s\",\"s\":%s,%s\"n\":%u,\"ip\":\"%s.%u\",\"tags\":[\"web\",\"x\"]}",
	    r % 3 == 0 ? "api/" : r % 3 == 1 ? "a" : "x/../",
	    (r >> 4) % 9000, r % 17 == 0 ? longpath : r % 5 == 0 ? ".php" : "",
	    r % 7 == 0 ? "\"500\"" : r % 2 ? "200" : "404",
	    r % 11 == 0 ? "" : r % 13 == 0 ? "\"a\":null," : a,
	    r % 40 == 0 ? r : (r >> 8) % 100000,
	    r % 4 == 0 ? "10.1.2" : "192.0.2", r % 256);
	return k > 0 && (size_t)k < cap ? k : 0;
}

static void
test_memo(void)
{
	enum { NR = sizeof(memo_rules) / sizeof(memo_rules[0]), N = 30000 };
	struct memo_run run;
	if (!ok(memo_run(memo_rules, NR, memo_record, N, &run), "memo: every rule compiles"))
		return;
	ok(run.wrong == 0 && run.same > (unsigned long)N * NR / 2,
	    "memo: %lu answers over %d records agree with plain matching", run.same, N);
	ok(run.wrong == 0 && run.listed == run.same && run.fired > (unsigned long)N,
	    "memo: %lu answers of the list (%lu matches) agree with plain matching",
	    run.listed, run.fired);
	ok(run.hits > 0 && run.misses > 0, "memo: both hits (%llu) and misses (%llu) were tried",
	    (unsigned long long)run.hits, (unsigned long long)run.misses);
}

/* A selection added to the memo after records went through it (and
 * after the list was made): what is remembered of the field must not
 * outlive the new condition, above all the classes of numbers, whose
 * bounds it changes. */
static void
test_memo_late(void)
{
	static const char *const rules[] = { "where: {n|gt: 100}", "where: {n|lt: 10}",
		"where: {n|gte: 50, t: x}" };
	static const char *const recs[] = { "{\"n\":150,\"t\":\"x\"}", "{\"n\":50,\"t\":\"x\"}",
		"{\"n\":5,\"t\":\"y\"}", "{\"n\":\"150\"}", "{\"n\":200,\"t\":\"x\"}",
		"{\"n\":0}", "{\"n\":99.5,\"t\":\"x\"}" };
	enum { NR = sizeof(rules) / sizeof(rules[0]), NREC = sizeof(recs) / sizeof(recs[0]) };
	struct compiled plain[NR], memo[NR];
	struct scan *shared = scan_new();
	struct select_memo *m = select_memo_new(shared);
	const struct select *list[NR];
	struct sval pv[64], mv[64];
	struct jscan_err je;
	unsigned long wrong = 0, asked = 0;
	bool built = m != NULL;
	for (size_t i = 0; i < NR; i++)
		built = compile(&plain[i], rules[i]) && built;
	for (size_t added = 0; built && added < NR; added++) {
		built = compile_memo(&memo[added], shared, m, rules[added]);
		list[added] = memo[added].sel;
		/* Records through the rules so far, one by one and as a list
		 * (made after the first round, which goes through what the
		 * memo kept before the rule came); the next rule is added
		 * after them. */
		for (size_t round = 0; built && round < 3; round++)
			for (size_t r = 0; r < NREC; r++) {
				if (round == 1 && r == 0)
					built = select_memo_list(m, list, added + 1) == 0;
				uint32_t hit[NR];
				size_t len = strlen(recs[r]);
				if (scan_record(shared, recs[r], len, mv, &je) != 0) {
					wrong++;
					continue;
				}
				size_t nhit = select_match_all(list, added + 1, mv, hit), h = 0;
				for (size_t j = 0; j <= added; j++) {
					scan_record(plain[j].scan, recs[r], len, pv, &je);
					bool a = select_match(plain[j].sel, pv);
					bool b = select_match(memo[j].sel, mv);
					bool c = h < nhit && hit[h] == j;
					h += c;
					if ((a != b || a != c) && wrong++ < 5)
						fprintf(stderr, "#   %zu rules, rule %zu, %s: plain %d, memo %d, list %d\n",
						    added + 1, j, recs[r], a, b, c);
					asked++;
				}
			}
	}
	ok(built && wrong == 0 && asked == 3 * NREC * 6,
	    "memo: rules added after records went through agree with plain matching");
	for (size_t i = 0; i < NR; i++) {
		release(&plain[i]);
		if (built || memo[i].sel != NULL) {
			select_free(memo[i].sel);
			yamlcfg_free(&memo[i].doc);
		}
	}
	select_memo_free(m);
	scan_free(shared);
}

/* A field only compared with numbers is remembered by the class of its
 * number (below, equal to or above each number compared with): values
 * at, just off and between the bounds, as numbers and as text, and the
 * values that are no number (null, text, arrays, too large, missing). */
static const char *const number_rules[] = {
	"where: {n|gt: 10}",
	"where: {n|gte: 10}",
	"where: {n|lt: -5}",
	"where: {n|lte: 2.5, t: x}",
	"where: {n: [0, 7]}",
	"where: {n|neq: 3}",
	"where: {n|exists: true, n|lt: 100}",
	"detection:\n  a: {n|gt: 7}\n  b: {n|lte: 10}\n  condition: a and b\n",
};

static int
number_record(int i, char *rec, size_t cap)
{
	static const char *const v[] = { "10", "9", "11", "10.0", "9.999", "10.001",
		"-5", "-5.0001", "-4.9", "2.5", "2.4999", "2.50001", "0", "-0", "0.0",
		"7", "7e0", "70e-1", "3", "3.0", "100", "99.99", "1e3", "-1e400", "1e400",
		"\"10\"", "\"7\"", "\"3\"", "\" 10\"", "\"10 \"", "\"1e1\"", "\"0x10\"",
		"\"abc\"", "\"\"", "null", "true", "[10, 11]", "[1, 2]", "[]", "{\"n\":1}",
		"-0.0", "1000000", "-1000000", "0.5", "6.99999999" };
	enum { NV = sizeof(v) / sizeof(v[0]) };
	/* Every value often, in an order that differs round by round. */
	size_t at = ((size_t)i * 7 + (size_t)i / NV) % (NV + 1);
	const char *t = i % 3 ? "\"x\"" : "\"y\"";
	int k = at == NV ? snprintf(rec, cap, "{\"t\":%s}", t) :
	    snprintf(rec, cap, "{\"n\":%s,\"t\":%s}", v[at], t);
	return k > 0 && (size_t)k < cap ? k : 0;
}

static void
test_memo_numbers(void)
{
	enum { NR = sizeof(number_rules) / sizeof(number_rules[0]), N = 5000 };
	struct memo_run run;
	if (!ok(memo_run(number_rules, NR, number_record, N, &run),
	    "memo, numbers: every rule compiles"))
		return;
	ok(run.wrong == 0 && run.same == (unsigned long)N * NR &&
	    run.listed == run.same && run.fired > (unsigned long)N,
	    "memo, numbers: %lu answers each way (%lu matches) agree with plain matching",
	    run.same, run.fired);
	/* About 45 values, of 15 classes and 16 texts that are no number:
	 * over 1,000 misses when each number is its own text. */
	ok(run.misses < 500 && run.hits > (uint64_t)N * 3 / 2,
	    "memo, numbers: looked up by class (%llu hits, %llu misses)",
	    (unsigned long long)run.hits, (unsigned long long)run.misses);
}

int
main(void)
{
	test_scan();
	test_scan_places();
	test_scan_guess();
	test_yaml();
	test_values();
	test_contains();
	test_conditions();
	test_errors();
	test_memo();
	test_memo_numbers();
	test_memo_late();
	return done();
}
