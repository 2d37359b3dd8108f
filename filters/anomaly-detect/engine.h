/*
 * engine.h - anomaly-detect's rule evaluation: per rule and group, the
 * window, the suppression and the alerts.
 *
 * The semantics are DESIGN.md's "Precise semantics", stated once here and
 * in man 5 sluice-rules:
 *   1. A window of length W at time t holds the events with t - W < ts <= t
 *      (half-open: an event exactly W old is out), where t is the newest
 *      event time the group has seen.
 *   2. threshold fires when the group's count in the window reaches the
 *      threshold; the group's window is then emptied, so the next alert
 *      needs threshold new events.  alert.count is the count that fired.
 *   3. suppress is measured from the last alert emitted for the rule and
 *      group: an alert due before last + suppress is held back and counted;
 *      the first one due at or after it is emitted with alert.suppressed =
 *      the number held back.
 *   4. Counting is exact: a group keeps the times of the events in its
 *      window, at most threshold - 1 of them (the window empties when it
 *      reaches threshold), and the ids of the newest 10.
 *   5. Each rule holds at most max_groups groups; a new group beyond that
 *      evicts the least recently seen one (counted).
 */
#ifndef SLUICE_AD_ENGINE_H
#define SLUICE_AD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jw.h"
#include "rules.h"
#include "scan.h"

struct engine;

struct engine_stats {
	uint64_t events, alerts, suppressed, groups, evictions;
};

/* A new engine running rs (whose contents it takes over). */
struct engine *engine_new(struct ruleset *rs, size_t max_groups);
void engine_free(struct engine *en);

/* Run the rule set rs from now on (taking over its contents); rules whose
 * id and definition are unchanged keep their groups.  Returns how many
 * rules kept their state, or -1 when memory is short: then the old set
 * keeps running and rs is left to the caller. */
long engine_swap(struct engine *en, struct ruleset *rs);

const struct ruleset *engine_rules(const struct engine *en);

/* The scan whose slots vals must be filled from. */
struct scan *engine_scan(struct engine *en);

/* One event at time ts (ms).  Each alert is written to w as one JSON
 * object followed by a newline.  Returns the number of alerts. */
size_t engine_event(struct engine *en, struct sval *vals, int64_t ts,
    struct jw *w);

/* Let time pass with no event (wall clock): forget groups with nothing
 * left in their window and no suppression running. */
void engine_tick(struct engine *en, int64_t now);

void engine_stats(const struct engine *en, struct engine_stats *s);
/* Alerts emitted by rule i of the current set. */
uint64_t engine_rule_alerts(const struct engine *en, size_t i);

/* State across restarts: written as JSON (temp file, fsync, rename) and
 * read back for rules whose definition is unchanged.  engine_load_state()
 * returns the number of rules restored, or -1 with e set when the file is
 * unreadable, corrupt or not a state file (the engine is then unchanged). */
int engine_save_state(const struct engine *en, const char *path, struct sl_err *e);
int engine_load_state(struct engine *en, const char *path, struct sl_err *e);

#endif
