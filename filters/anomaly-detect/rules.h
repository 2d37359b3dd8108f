/*
 * rules.h - anomaly-detect's rule files, loaded and compiled into a rule
 * set the engine runs.
 *
 * A rule set is built whole or not at all: ruleset_load() reads every
 * file, applies overrides, compiles every rule and reports every error it
 * finds (so --check lists them all); only a set without errors is used.
 * The set owns its scan (the field paths its rules read), so a reload
 * swaps the scan with the rules.
 */
#ifndef SLUICE_AD_RULES_H
#define SLUICE_AD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scan.h"
#include "select.h"

enum rtype { R_MATCH, R_THRESHOLD };
enum severity { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

extern const char *const rtype_names[];
extern const char *const severity_names[];

/* A message template compiles to parts: literal text, a field of the
 * event, or a value of the alert. */
enum tpart { T_LIT, T_FIELD, T_COUNT, T_THRESHOLD, T_WINDOW, T_SUPPRESSED,
	T_RULE_ID, T_RULE_NAME, T_SEVERITY, T_FIRST, T_LAST };

struct tmpl {
	enum tpart kind;
	char *lit;		/* T_LIT */
	size_t len;
	int slot;		/* T_FIELD */
};

struct rule {
	char *id, *name, *description;
	enum rtype type;
	enum severity severity;
	char **tags;
	size_t ntags;
	struct select *where;	/* which events count */
	struct select *except;	/* events that never count, or NULL */
	char **group_path;	/* group_by, as written */
	int *group_slot;
	size_t ngroup;
	int64_t window_ms, suppress_ms;
	int64_t threshold;
	struct tmpl *msg;
	size_t nmsg;
	char *def;		/* the definition as canonical JSON */
	char defhash[33];	/* its hash: same text, same state */
};

struct ruleset {
	struct rule *rule;	/* enabled rules only */
	size_t n, disabled;
	struct scan *scan;
	struct select_memo *memo;	/* every rule's where and except */
	int ts_slot, id_slot;	/* @timestamp, event.id */
	int alerts_slot;	/* alerts, which --emit all adds to */
	char **files;		/* every file read, for --watch */
	size_t nfiles;
};

/* Called once per error found. */
typedef void (*rules_report)(const struct sl_err *e, void *arg);

/* Load paths (files, or directories of *.yaml and *.yml in name order).
 * Returns the number of errors; 0 means rs is ready, otherwise rs is
 * empty.  report may be NULL. */
size_t ruleset_load(struct ruleset *rs, char *const *paths, size_t npaths,
    rules_report report, void *arg, struct sl_err *first);

/* ruleset_load() of one file's text, under the name given (for the
 * fuzzer and tests; no file is read). */
size_t ruleset_load_text(struct ruleset *rs, const char *name, const char *text,
    size_t len, rules_report report, void *arg, struct sl_err *first);

void ruleset_free(struct ruleset *rs);

/* The rule set as a JSON array, one canonical definition per rule
 * (malloc'd), for --dump-rules. */
char *ruleset_dump(const struct ruleset *rs);

#endif
