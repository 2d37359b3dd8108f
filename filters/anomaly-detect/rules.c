/*
 * rules.c - reading, checking and compiling anomaly-detect's rule files.
 *
 * Loading runs in three steps so that overrides and lists may come from
 * any earlier file: (1) every file is parsed and its `lists:` collected;
 * (2) each `rules:` entry becomes a list of (key, value) nodes, and an
 * `override:` entry replaces keys of the entry it names; (3) every entry
 * is compiled.  Errors do not stop a step, so one --check run names them
 * all.  A rule's identity for keeping state is the hash of its effective
 * definition as canonical JSON (sorted keys): what did not change keeps
 * its counts across a reload or a restart.
 */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "duration.h"
#include "hash.h"
#include "yamlcfg.h"

const char *const rtype_names[] = { "match", "threshold" };
const char *const severity_names[] = { "low", "medium", "high", "critical" };

/* Types of the grammar that this version does not run yet. */
static const char *const later_types[] = {
	"spike", "flatline", "new_value", "cardinality", "sequence", "outlier",
};

struct kv {
	const struct ynode *key, *val;
	const struct ydoc *doc;
};

struct entry {
	struct kv *kv;
	size_t n;
	const struct ydoc *doc;	/* where the rule was defined */
	const struct ynode *node;
};

struct loader {
	struct ydoc *docs;
	size_t ndocs;
	struct select_list *lists;
	size_t nlists;
	struct entry *ent;
	size_t nent;
	rules_report report;
	void *arg;
	struct sl_err *first;
	size_t errors;
};

static void
report(struct loader *ld, const struct sl_err *e)
{
	if (ld->errors++ == 0 && ld->first != NULL)
		*ld->first = *e;
	if (ld->report != NULL)
		ld->report(e, ld->arg);
}

static void
fail(struct loader *ld, const struct ydoc *d, const struct ynode *n,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct loader *ld, const struct ydoc *d, const struct ynode *n,
    const char *fmt, ...)
{
	struct sl_err e;
	char msg[sizeof(e.msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	yerr(&e, d, n, "%s", msg);
	report(ld, &e);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_file(struct ruleset *rs, const char *path)
{
	char **f = realloc(rs->files, (rs->nfiles + 1) * sizeof(*f));
	if (f == NULL)
		return -1;
	rs->files = f;
	if ((rs->files[rs->nfiles] = strdup(path)) == NULL)
		return -1;
	rs->nfiles++;
	return 0;
}

static bool
is_yaml_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

/* Files of one -r operand: itself, or a directory's YAML files by name. */
static int
expand(struct loader *ld, struct ruleset *rs, const char *path)
{
	struct stat st;
	struct sl_err e;

	if (stat(path, &st) != 0) {
		err_set(&e, path, 0, 0, "%s", strerror(errno));
		report(ld, &e);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return add_file(rs, path);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		err_set(&e, path, 0, 0, "%s", strerror(errno));
		report(ld, &e);
		return 0;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(dir)) != NULL) {
		if (!is_yaml_name(de->d_name))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (nn == NULL) {
			rc = -1;
			break;
		}
		names = nn;
		size_t len = strlen(path) + strlen(de->d_name) + 2;
		if ((names[n] = malloc(len)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(names[n], len, "%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
		n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = add_file(rs, names[i]);
		free(names[i]);
	}
	free(names);
	if (rc == 0 && n == 0) {
		err_set(&e, path, 0, 0, "no *.yaml or *.yml files in this directory");
		report(ld, &e);
	}
	return rc;
}

/* ---- step 1 and 2: files, lists, entries, overrides ---- */

static struct entry *
find_entry(struct loader *ld, const char *id)
{
	for (size_t i = 0; i < ld->nent; i++)
		for (size_t k = 0; k < ld->ent[i].n; k++)
			if (strcmp(ld->ent[i].kv[k].key->str, "id") == 0 &&
			    ld->ent[i].kv[k].val->kind == Y_SCALAR &&
			    strcmp(ld->ent[i].kv[k].val->str, id) == 0)
				return &ld->ent[i];
	return NULL;
}

static int
entry_set(struct entry *en, const struct ydoc *d, const struct ynode *key,
    const struct ynode *val)
{
	for (size_t k = 0; k < en->n; k++)
		if (strcmp(en->kv[k].key->str, key->str) == 0) {
			en->kv[k] = (struct kv){ key, val, d };
			return 0;
		}
	struct kv *kv = realloc(en->kv, (en->n + 1) * sizeof(*kv));
	if (kv == NULL)
		return -1;
	en->kv = kv;
	en->kv[en->n++] = (struct kv){ key, val, d };
	return 0;
}

static int
read_rules(struct loader *ld, const struct ydoc *d, const struct ynode *rules)
{
	if (rules->kind != Y_SEQ) {
		fail(ld, d, rules, "rules must be a list of rules, not %s", ykind_name(rules));
		return 0;
	}
	for (size_t i = 0; i < rules->n; i++) {
		const struct ynode *r = rules->item[i];
		if (r->kind != Y_MAP) {
			fail(ld, d, r, "a rule must be a mapping, not %s", ykind_name(r));
			continue;
		}
		const struct ynode *ov = ymap_get(r, "override");
		struct entry *en;
		if (ov != NULL) {
			if (ov->kind != Y_SCALAR) {
				fail(ld, d, ov, "override names a rule id");
				continue;
			}
			if ((en = find_entry(ld, ov->str)) == NULL) {
				fail(ld, d, ov, "override of \"%s\": no rule with that id was loaded before",
				    ov->str);
				continue;
			}
			if (ymap_get(r, "id") != NULL) {
				fail(ld, d, r, "an override cannot change a rule's id");
				continue;
			}
		} else {
			struct entry *e = realloc(ld->ent, (ld->nent + 1) * sizeof(*e));
			if (e == NULL)
				return -1;
			ld->ent = e;
			en = &ld->ent[ld->nent++];
			*en = (struct entry){ .doc = d, .node = r };
		}
		for (size_t k = 0; k < r->n; k += 2)
			if (strcmp(r->item[k]->str, "override") != 0 &&
			    entry_set(en, d, r->item[k], r->item[k + 1]) != 0)
				return -1;
	}
	return 0;
}

static int
read_lists(struct loader *ld, const struct ydoc *d, const struct ynode *lists)
{
	if (lists->kind != Y_MAP) {
		fail(ld, d, lists, "lists must map names to lists of values, not %s",
		    ykind_name(lists));
		return 0;
	}
	for (size_t i = 0; i < lists->n; i += 2) {
		const struct ynode *name = lists->item[i], *vals = lists->item[i + 1];
		if (vals->kind != Y_SEQ) {
			fail(ld, d, vals, "list \"%s\" must be a list of values, not %s",
			    name->str, ykind_name(vals));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < ld->nlists; j++)
			if (strcmp(ld->lists[j].name, name->str) == 0)
				dup = true;
		if (dup) {
			fail(ld, d, name, "list \"%s\" is defined twice", name->str);
			continue;
		}
		struct select_list *l = realloc(ld->lists, (ld->nlists + 1) * sizeof(*l));
		if (l == NULL)
			return -1;
		ld->lists = l;
		ld->lists[ld->nlists++] = (struct select_list){ name->str, vals };
	}
	return 0;
}

/* Read one rules file (or, when text is not NULL, that text under the
 * file's name). */
static int
read_file(struct loader *ld, const char *path, const char *text, size_t len)
{
	struct sl_err e;
	struct ydoc *d = &ld->docs[ld->ndocs];

	if ((text ? yamlcfg_load_string(d, path, text, len, &e) :
	    yamlcfg_load(d, path, &e)) != 0) {
		report(ld, &e);
		return 0;
	}
	ld->ndocs++;
	if (d->root == NULL)
		return 0;	/* an empty file: no rules */
	if (d->root->kind != Y_MAP) {
		fail(ld, d, d->root, "a rules file is a mapping with rules: (and lists:), not %s",
		    ykind_name(d->root));
		return 0;
	}
	for (size_t i = 0; i < d->root->n; i += 2) {
		const struct ynode *k = d->root->item[i];
		if (strcmp(k->str, "rules") != 0 && strcmp(k->str, "lists") != 0)
			fail(ld, d, k, "unknown key \"%s\" (a rules file holds rules: and lists:)",
			    k->str);
	}
	const struct ynode *lists = ymap_get(d->root, "lists");
	if (lists != NULL && read_lists(ld, d, lists) != 0)
		return -1;
	const struct ynode *rules = ymap_get(d->root, "rules");
	if (rules != NULL && read_rules(ld, d, rules) != 0)
		return -1;
	return 0;
}

/* ---- step 3: compiling one rule ---- */

static json_t *
to_json(const struct ynode *n)
{
	double num;
	int b;
	json_t *j;

	switch (n->kind) {
	case Y_SCALAR:
		if (yscalar_is_null(n))
			return json_null();
		if ((b = yscalar_bool(n)) >= 0)
			return json_boolean(b);
		if (yscalar_number(n, &num)) {
			if (strpbrk(n->str, ".eE") == NULL && num >= -9e15 && num <= 9e15)
				return json_integer((json_int_t)num);
			return json_real(num);
		}
		return json_stringn(n->str, n->len);
	case Y_SEQ:
		j = json_array();
		for (size_t i = 0; j != NULL && i < n->n; i++)
			json_array_append_new(j, to_json(n->item[i]));
		return j;
	case Y_MAP:
		j = json_object();
		for (size_t i = 0; j != NULL && i < n->n; i += 2)
			json_object_set_new(j, n->item[i]->str, to_json(n->item[i + 1]));
		return j;
	}
	return NULL;
}

static const struct kv *
get(const struct entry *en, const char *key)
{
	for (size_t k = 0; k < en->n; k++)
		if (strcmp(en->kv[k].key->str, key) == 0)
			return &en->kv[k];
	return NULL;
}

static bool
scalar(struct loader *ld, const struct kv *kv)
{
	if (kv->val->kind == Y_SCALAR)
		return true;
	fail(ld, kv->doc, kv->val, "%s must be a plain value, not %s", kv->key->str,
	    ykind_name(kv->val));
	return false;
}

static bool
duration(struct loader *ld, const struct kv *kv, int64_t *ms, bool zero_ok)
{
	const char *why;
	if (!scalar(ld, kv))
		return false;
	if (duration_parse(kv->val->str, ms, &why) != 0) {
		fail(ld, kv->doc, kv->val, "%s \"%s\": %s", kv->key->str, kv->val->str, why);
		return false;
	}
	if (*ms == 0 && !zero_ok) {
		fail(ld, kv->doc, kv->val, "%s must be longer than 0", kv->key->str);
		return false;
	}
	return true;
}

static bool
valid_id(const char *s)
{
	if (*s == '\0' || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int
add_lit(struct rule *r, const char *s, size_t n)
{
	struct tmpl *t = realloc(r->msg, (r->nmsg + 1) * sizeof(*t));
	if (t == NULL)
		return -1;
	r->msg = t;
	r->msg[r->nmsg] = (struct tmpl){ .kind = T_LIT, .slot = -1 };
	if (n > 0 && (r->msg[r->nmsg].lit = strndup(s, n)) == NULL)
		return -1;
	r->msg[r->nmsg].len = n;
	r->nmsg++;
	return 0;
}

/* "{alert.count} failed logins from {source.ip}"; {{ and }} are braces. */
static bool
compile_message(struct loader *ld, struct rule *r, struct scan *sc, const struct kv *kv)
{
	static const struct { const char *name; enum tpart kind; } names[] = {
		{ "alert.count", T_COUNT }, { "alert.threshold", T_THRESHOLD },
		{ "alert.window_s", T_WINDOW }, { "alert.suppressed", T_SUPPRESSED },
		{ "alert.severity", T_SEVERITY }, { "alert.first", T_FIRST },
		{ "alert.last", T_LAST }, { "rule.id", T_RULE_ID }, { "rule.name", T_RULE_NAME },
	};
	const char *s = kv->val->str, *p = s;
	char buf[4096];
	size_t bl = 0;

	while (*p) {
		if (bl == sizeof(buf)) {	/* a long literal: in parts */
			if (add_lit(r, buf, bl) != 0)
				return false;
			bl = 0;
		}
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			buf[bl++] = p[0];
			p += 2;
			continue;
		}
		if (*p != '{') {
			buf[bl++] = *p;
			p++;
			continue;
		}
		const char *close = strchr(p, '}');
		unsigned col = kv->val->col + (unsigned)(p - s) + (kv->val->quoted ? 1 : 0);
		if (close == NULL || close == p + 1) {
			struct sl_err e;
			err_set(&e, kv->doc->file, kv->val->line, col, close ?
			    "message: empty {} (write {field.path}, or {{ for a brace)" :
			    "message: this { is never closed (write {{ for a brace)");
			report(ld, &e);
			return false;
		}
		if (bl > 0 && add_lit(r, buf, bl) != 0)
			return false;
		bl = 0;
		char path[256];
		size_t pl = (size_t)(close - p - 1);
		if (pl >= sizeof(path)) {
			struct sl_err e;
			err_set(&e, kv->doc->file, kv->val->line, col,
			    "message: a {field} of more than %zu characters", sizeof(path) - 1);
			report(ld, &e);
			return false;
		}
		snprintf(path, sizeof(path), "%.*s", (int)pl, p + 1);
		struct tmpl t = { .kind = T_FIELD, .slot = -1 };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(names[i].name, path) == 0)
				t.kind = names[i].kind;
		if (t.kind == T_FIELD && (t.slot = scan_path(sc, path)) < 0) {
			struct sl_err e;
			err_set(&e, kv->doc->file, kv->val->line, col,
			    "message: {%s} is not a field path", path);
			report(ld, &e);
			return false;
		}
		struct tmpl *m = realloc(r->msg, (r->nmsg + 1) * sizeof(*m));
		if (m == NULL)
			return false;
		r->msg = m;
		r->msg[r->nmsg++] = t;
		p = close + 1;
	}
	return bl == 0 || add_lit(r, buf, bl) == 0;
}

static const char *const rule_keys[] = {
	"id", "name", "description", "severity", "type", "enabled", "tags",
	"where", "detection", "exceptions", "group_by", "window", "threshold",
	"suppress", "message",
};

static void
rule_free(struct rule *r)
{
	free(r->id);
	free(r->name);
	free(r->description);
	for (size_t i = 0; i < r->ntags; i++)
		free(r->tags[i]);
	free(r->tags);
	select_free(r->where);
	select_free(r->except);
	for (size_t i = 0; i < r->ngroup; i++)
		free(r->group_path[i]);
	free(r->group_path);
	free(r->group_slot);
	for (size_t i = 0; i < r->nmsg; i++)
		free(r->msg[i].lit);
	free(r->msg);
	free(r->def);
}

/* Compile one entry; false (errors reported) when it is not a valid rule. */
static bool
compile_rule(struct loader *ld, struct ruleset *rs, const struct entry *en,
    struct rule *r, bool *enabled)
{
	const struct kv *kv;
	bool ok = true;

	memset(r, 0, sizeof(*r));
	r->severity = SEV_MEDIUM;
	*enabled = true;
	for (size_t k = 0; k < en->n; k++) {
		size_t i;
		for (i = 0; i < sizeof(rule_keys) / sizeof(rule_keys[0]); i++)
			if (strcmp(en->kv[k].key->str, rule_keys[i]) == 0)
				break;
		if (i == sizeof(rule_keys) / sizeof(rule_keys[0])) {
			fail(ld, en->kv[k].doc, en->kv[k].key, "unknown key \"%s\" in a rule",
			    en->kv[k].key->str);
			ok = false;
		}
	}
	if ((kv = get(en, "id")) == NULL) {
		fail(ld, en->doc, en->node, "a rule needs an id");
		return false;
	}
	if (!scalar(ld, kv))
		return false;
	if (!valid_id(kv->val->str)) {
		fail(ld, kv->doc, kv->val, "id \"%s\": letters, digits, '-', '_' and '.' only, at most 100",
		    kv->val->str);
		return false;
	}
	r->id = strdup(kv->val->str);
	kv = get(en, "name");
	r->name = strdup(kv && scalar(ld, kv) ? kv->val->str : r->id);
	if ((kv = get(en, "description")) != NULL && scalar(ld, kv))
		r->description = strdup(kv->val->str);
	if ((kv = get(en, "severity")) != NULL && scalar(ld, kv)) {
		size_t i;
		for (i = 0; i < 4; i++)
			if (strcmp(kv->val->str, severity_names[i]) == 0)
				break;
		if (i == 4) {
			fail(ld, kv->doc, kv->val, "severity \"%s\": low, medium, high or critical",
			    kv->val->str);
			ok = false;
		}
		r->severity = (enum severity)(i % 4);
	}
	if ((kv = get(en, "enabled")) != NULL) {
		int b = yscalar_bool(kv->val);
		if (b < 0) {
			fail(ld, kv->doc, kv->val, "enabled must be true or false");
			ok = false;
		}
		*enabled = b != 0;
	}
	if ((kv = get(en, "tags")) != NULL) {
		const struct ynode *t = kv->val;
		if (t->kind != Y_SEQ) {
			fail(ld, kv->doc, t, "tags must be a list, not %s", ykind_name(t));
			ok = false;
		} else if ((r->tags = calloc(t->n + 1, sizeof(*r->tags))) != NULL) {
			for (size_t i = 0; i < t->n; i++) {
				if (t->item[i]->kind != Y_SCALAR) {
					fail(ld, kv->doc, t->item[i], "a tag must be a plain value");
					ok = false;
					continue;
				}
				r->tags[r->ntags++] = strdup(t->item[i]->str);
			}
		}
	}

	kv = get(en, "type");
	if (kv == NULL) {
		fail(ld, en->doc, en->node, "rule %s needs a type (match or threshold)", r->id);
		return false;
	}
	if (!scalar(ld, kv))
		return false;
	if (strcmp(kv->val->str, "match") == 0) {
		r->type = R_MATCH;
	} else if (strcmp(kv->val->str, "threshold") == 0) {
		r->type = R_THRESHOLD;
	} else {
		bool later = false;
		for (size_t i = 0; i < sizeof(later_types) / sizeof(later_types[0]); i++)
			later = later || strcmp(kv->val->str, later_types[i]) == 0;
		if (later)
			fail(ld, kv->doc, kv->val, "type \"%s\" is not supported by this version (match, threshold)",
			    kv->val->str);
		else
			fail(ld, kv->doc, kv->val, "unknown type \"%s\" (match, threshold, spike, flatline, new_value, cardinality, sequence, outlier)",
			    kv->val->str);
		return false;
	}

	const struct kv *where = get(en, "where"), *det = get(en, "detection");
	struct sl_err e;
	if ((where == NULL) == (det == NULL)) {
		fail(ld, en->doc, en->node, where ? "rule %s has both where and detection; use one" :
		    "rule %s needs where (a selection) or detection", r->id);
		ok = false;
	} else {
		const struct kv *w = where ? where : det;
		struct select_ctx cx = { .scan = rs->scan, .doc = w->doc,
			.lists = ld->lists, .nlists = ld->nlists };
		r->where = where ? select_where(&cx, w->val, &e) : select_detection(&cx, w->val, &e);
		if (r->where == NULL) {
			report(ld, &e);
			ok = false;
		}
	}
	if ((kv = get(en, "exceptions")) != NULL) {
		struct select_ctx cx = { .scan = rs->scan, .doc = kv->doc,
			.lists = ld->lists, .nlists = ld->nlists };
		if (kv->val->kind != Y_SEQ) {
			fail(ld, kv->doc, kv->val, "exceptions must be a list of selections, not %s",
			    ykind_name(kv->val));
			ok = false;
		} else if ((r->except = select_where(&cx, kv->val, &e)) == NULL) {
			report(ld, &e);
			ok = false;
		}
	}
	if ((kv = get(en, "group_by")) != NULL) {
		const struct ynode *g = kv->val;
		const struct ynode *const *items = g->kind == Y_SEQ ?
		    (const struct ynode *const *)g->item : &g;
		size_t n = g->kind == Y_SEQ ? g->n : 1;
		r->group_path = calloc(n + 1, sizeof(*r->group_path));
		r->group_slot = calloc(n + 1, sizeof(*r->group_slot));
		if (g->kind == Y_MAP || n == 0) {
			fail(ld, kv->doc, g, "group_by is a field path or a list of them");
			ok = false;
			n = 0;
		}
		for (size_t i = 0; i < n && r->group_path != NULL && r->group_slot != NULL; i++) {
			int slot = items[i]->kind == Y_SCALAR ? scan_path(rs->scan, items[i]->str) : -1;
			if (slot < 0) {
				fail(ld, kv->doc, items[i], "group_by: not a field path");
				ok = false;
				continue;
			}
			r->group_path[r->ngroup] = strdup(items[i]->str);
			r->group_slot[r->ngroup++] = slot;
		}
	}
	const struct kv *win = get(en, "window"), *thr = get(en, "threshold");
	if (r->type == R_THRESHOLD) {
		if (win == NULL || thr == NULL) {
			fail(ld, en->doc, en->node, "threshold rule %s needs window and threshold", r->id);
			ok = false;
		}
		if (win != NULL && !duration(ld, win, &r->window_ms, false))
			ok = false;
		if (thr != NULL) {
			double v;
			if (!yscalar_number(thr->val, &v) || v < 1 || v > 1e9 || v != (double)(int64_t)v) {
				fail(ld, thr->doc, thr->val, "threshold must be a whole number from 1 to 1000000000");
				ok = false;
			} else {
				r->threshold = (int64_t)v;
			}
		}
	} else {
		r->threshold = 1;	/* each matching event fires alone */
		if (win != NULL) {
			fail(ld, win->doc, win->key, "window has no meaning for a match rule");
			ok = false;
		}
		if (thr != NULL) {
			fail(ld, thr->doc, thr->key, "threshold has no meaning for a match rule");
			ok = false;
		}
	}
	if ((kv = get(en, "suppress")) != NULL && !duration(ld, kv, &r->suppress_ms, true))
		ok = false;
	if ((kv = get(en, "message")) != NULL) {
		if (!scalar(ld, kv) || !compile_message(ld, r, rs->scan, kv))
			ok = false;
	}

	/* The definition: every key as written, after overrides. */
	json_t *def = json_object();
	for (size_t k = 0; def != NULL && k < en->n; k++)
		json_object_set_new(def, en->kv[k].key->str, to_json(en->kv[k].val));
	/* The lists it names are part of a rule: a changed list is a changed
	 * rule, whose counts do not carry over. */
	char *text = def ? json_dumps(def, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_t *used = json_object();
	for (size_t i = 0; text != NULL && used != NULL && i < ld->nlists; i++) {
		char ref[160];
		snprintf(ref, sizeof(ref), "%%%s%%", ld->lists[i].name);
		if (strstr(text, ref) != NULL)
			json_object_set_new(used, ld->lists[i].name, to_json(ld->lists[i].values));
	}
	free(text);
	if (def != NULL && used != NULL && json_object_size(used) > 0)
		json_object_set(def, "lists", used);
	json_decref(used);
	r->def = def ? json_dumps(def, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(def);
	if (r->def == NULL || r->id == NULL || r->name == NULL) {
		struct sl_err m;
		err_set(&m, en->doc->file, 0, 0, "out of memory");
		report(ld, &m);
		return false;
	}
	struct hash128 h = hash128_seed(0);
	hash128_update(&h, r->def, strlen(r->def));
	hash128_hex(h, strlen(r->def), r->defhash);
	r->defhash[32] = '\0';
	return ok;
}

static size_t load(struct ruleset *rs, char *const *paths, size_t npaths,
    const char *text, size_t len, rules_report cb, void *arg, struct sl_err *first);

size_t
ruleset_load(struct ruleset *rs, char *const *paths, size_t npaths,
    rules_report cb, void *arg, struct sl_err *first)
{
	return load(rs, paths, npaths, NULL, 0, cb, arg, first);
}

size_t
ruleset_load_text(struct ruleset *rs, const char *name, const char *text,
    size_t len, rules_report cb, void *arg, struct sl_err *first)
{
	char *names[1] = { (char *)name };
	return load(rs, names, 1, text, len, cb, arg, first);
}

static size_t
load(struct ruleset *rs, char *const *paths, size_t npaths, const char *text,
    size_t len, rules_report cb, void *arg, struct sl_err *first)
{
	struct loader ld = { .report = cb, .arg = arg, .first = first };
	int rc = 0;

	memset(rs, 0, sizeof(*rs));
	if ((rs->scan = scan_new()) == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < npaths; i++)
		rc = text ? add_file(rs, paths[i]) : expand(&ld, rs, paths[i]);
	if (rc == 0 && (ld.docs = calloc(rs->nfiles + 1, sizeof(*ld.docs))) == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < rs->nfiles; i++)
		rc = read_file(&ld, rs->files[i], text, len);
	if (rc == 0 && (rs->rule = calloc(ld.nent + 1, sizeof(*rs->rule))) == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < ld.nent; i++) {
		struct rule *r = &rs->rule[rs->n];
		bool enabled;
		bool ok = compile_rule(&ld, rs, &ld.ent[i], r, &enabled);
		for (size_t j = 0; ok && r->id != NULL && j < i; j++) {
			const struct kv *other = get(&ld.ent[j], "id");
			if (other != NULL && other->val->kind == Y_SCALAR &&
			    strcmp(other->val->str, r->id) == 0) {
				const struct kv *mine = get(&ld.ent[i], "id");
				fail(&ld, mine->doc, mine->val, "duplicate rule id \"%s\" (first in %s:%u)",
				    r->id, other->doc->file, other->val->line);
				ok = false;
			}
		}
		if (ok && enabled) {
			rs->n++;
		} else {
			rs->disabled += ok;
			rule_free(r);
		}
	}
	if (rc == 0) {
		rs->ts_slot = scan_path(rs->scan, "@timestamp");
		rs->id_slot = scan_path(rs->scan, "event.id");
		rs->alerts_slot = scan_path(rs->scan, "alerts");
		if (rs->ts_slot < 0 || rs->id_slot < 0 || rs->alerts_slot < 0)
			rc = -1;
	}
	/* Matching through the memo is an optimisation: without memory for
	 * it, a rule matches field by field. */
	if (rc == 0 && ld.errors == 0 && (rs->memo = select_memo_new(rs->scan)) != NULL)
		for (size_t i = 0; i < rs->n; i++) {
			select_memo_add(rs->memo, rs->rule[i].where);
			if (rs->rule[i].except != NULL)
				select_memo_add(rs->memo, rs->rule[i].except);
		}
	if (rc != 0) {
		struct sl_err e;
		err_set(&e, NULL, 0, 0, "out of memory");
		report(&ld, &e);
	}
	for (size_t i = 0; i < ld.ndocs; i++)
		yamlcfg_free(&ld.docs[i]);
	free(ld.docs);
	for (size_t i = 0; i < ld.nent; i++)
		free(ld.ent[i].kv);
	free(ld.ent);
	free(ld.lists);
	if (ld.errors > 0)
		ruleset_free(rs);
	return ld.errors;
}

void
ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rule[i]);
	free(rs->rule);
	select_memo_free(rs->memo);
	scan_free(rs->scan);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	memset(rs, 0, sizeof(*rs));
}

char *
ruleset_dump(const struct ruleset *rs)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < rs->n; i++)
		json_array_append_new(a, json_loads(rs->rule[i].def, 0, NULL));
	char *s = a ? json_dumps(a, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(a);
	return s;
}
