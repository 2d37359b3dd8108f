/*
 * anomaly-detect - NDJSON events in, alerts out.
 *
 * Loads YAML rules once (files, or directories of *.yaml), compiles them,
 * and evaluates every event read on standard input.  Writes one alert
 * record per firing (--emit alerts) or every event byte for byte with an
 * "alerts" array spliced in where rules fired (--emit all).  SIGHUP (or a
 * changed rule file under --watch) reloads the rules whole or not at all;
 * --state keeps the counts across restarts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "duration.h"
#include "engine.h"
#include "feed.h"
#include "jw.h"
#include "log.h"
#include "reject.h"
#include "rfc3339.h"
#include "rules.h"
#include "sig.h"

#define TICK_MS 1000		/* wall clock, --watch and reload latency */
#define WATCH_MS 2000		/* how often --watch looks at the rule files */
#define PRUNE_EVERY 4096	/* events between looks for idle groups */
#define NO_TIME INT64_MIN

struct opts {
	char **rules;
	size_t nrules;
	bool emit_all, check, dump, watch, strict, wall;
	const char *state, *reject;
	int64_t state_interval, lateness;
	long long max_groups;
	uint64_t max_line;
};

struct state {
	struct opts o;
	struct engine *en;
	struct feed in;
	struct jw out, alerts;
	struct reject rj;
	struct sval *vals;
	size_t nvals;
	int64_t watermark;	/* newest event time seen (event clock); NO_TIME: none */
	struct rfc3339_minute minute;	/* of the last @timestamp read */
	int64_t next_tick, next_watch, next_save;
	time_t *mtimes;		/* of the rule files, for --watch */
	uint64_t late, no_ts, reloads, reload_failures;
	int status;
	bool stop;
};

static const struct option longopts[] = {
	{ "check", no_argument, NULL, 'c' },
	{ "clock", required_argument, NULL, 'C' },
	{ "dump-rules", no_argument, NULL, 'D' },
	{ "emit", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "lateness", required_argument, NULL, 'l' },
	{ "max-groups", required_argument, NULL, 'g' },
	{ "max-line", required_argument, NULL, 'M' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "reject", required_argument, NULL, 'j' },
	{ "rules", required_argument, NULL, 'r' },
	{ "state", required_argument, NULL, 's' },
	{ "state-interval", required_argument, NULL, 'i' },
	{ "strict", no_argument, NULL, 'S' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "watch", no_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fputs(
"usage: anomaly-detect -r rules [-r rules ...] [--emit alerts|all] [--check]\n"
"                      [--dump-rules] [--state file] [--state-interval d]\n"
"                      [--max-groups n] [--clock event|wall] [--lateness d]\n"
"                      [--watch] [--reject file] [--strict] [--max-line bytes]\n"
"\n"
"Evaluate YAML detection rules over NDJSON events; write alerts.\n"
"\n"
"  -r, --rules PATH         a rules file, or a directory of *.yaml (repeatable)\n"
"  -e, --emit WHAT          alerts (default): alert records only;\n"
"                           all: every event, with an alerts array where rules fired\n"
"      --check              check the rules, print \"N rules ok\" or every error\n"
"      --dump-rules         print the effective rules as JSON and exit\n"
"      --state FILE         keep window state in FILE across restarts\n"
"      --state-interval D   also save the state this often (default 1m)\n"
"      --max-groups N       groups kept per rule (default 100000)\n"
"      --clock CLOCK        event (default: @timestamp) or wall\n"
"      --lateness D         how late an event may be and still count (default 1m)\n"
"      --watch              reload when a rules file changes\n"
"      --reject FILE        append rejected lines to FILE as NDJSON\n"
"      --strict             exit 65 at the first rejected line\n"
"  -M, --max-line BYTES     longest line accepted (default 1M)\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            more diagnostics\n"
"  -h, --help               this help\n"
"  -V, --version            version\n", f);
}

/* ---- rules ---- */

static void
print_error(const struct sl_err *e, void *arg)
{
	char buf[1024];
	(void)arg;
	err_where(e, buf, sizeof(buf));
	if (arg != NULL)
		fprintf(stdout, "%s\n", buf);	/* --check lists errors on stdout */
	else
		log_error("%s", buf);
}

static void
file_mtimes(struct state *st, time_t *out)
{
	const struct ruleset *rs = engine_rules(st->en);
	for (size_t i = 0; i < rs->nfiles; i++) {
		struct stat sb;
		out[i] = stat(rs->files[i], &sb) == 0 ? sb.st_mtime : 0;
	}
}

static int
size_vals(struct state *st)
{
	size_t n = scan_slots(engine_scan(st->en));
	if (n <= st->nvals)
		return 0;
	struct sval *v = realloc(st->vals, n * sizeof(*v));
	if (v == NULL)
		return -1;
	st->vals = v;
	st->nvals = n;
	return 0;
}

/* The record that tells the pipeline a reload failed. */
static void
pipeline_error(struct state *st, const struct sl_err *e)
{
	char ts[RFC3339_LEN], where[1024];
	rfc3339_format(clock_wall_ms(), ts);
	err_where(e, where, sizeof(where));
	jw_obj_open(&st->out);
	JW_KEY_LIT(&st->out, "@timestamp");
	jw_str_plain(&st->out, ts, RFC3339_LEN);
	JW_KEY_LIT(&st->out, "event");
	jw_obj_open(&st->out);
	JW_KEY_LIT(&st->out, "kind");
	jw_strz(&st->out, "pipeline_error");
	JW_KEY_LIT(&st->out, "module");
	jw_strz(&st->out, "anomaly-detect");
	jw_obj_close(&st->out);
	JW_KEY_LIT(&st->out, "error");
	jw_obj_open(&st->out);
	JW_KEY_LIT(&st->out, "message");
	jw_strz(&st->out, where);
	jw_obj_close(&st->out);
	if (e->file[0] != '\0') {
		JW_KEY_LIT(&st->out, "file");
		jw_obj_open(&st->out);
		JW_KEY_LIT(&st->out, "path");
		jw_strz(&st->out, e->file);
		jw_obj_close(&st->out);
	}
	JW_KEY_LIT(&st->out, "message");
	jw_strz(&st->out, "rules reload failed; the previous rules keep running");
	jw_obj_close(&st->out);
	jw_end(&st->out);
}

static void
reload(struct state *st, const char *why)
{
	struct ruleset rs;
	struct sl_err first;
	size_t errors = ruleset_load(&rs, st->o.rules, st->o.nrules, print_error, NULL, &first);

	st->reloads++;
	if (errors > 0) {
		st->reload_failures++;
		log_error("reload (%s): %zu error%s; the previous rules keep running", why,
		    errors, errors == 1 ? "" : "s");
		pipeline_error(st, &first);
	} else {
		size_t n = rs.n;
		long kept = engine_swap(st->en, &rs);
		if (kept < 0) {
			struct sl_err e;
			err_set(&e, NULL, 0, 0, "out of memory loading the new rules");
			ruleset_free(&rs);
			st->reload_failures++;
			log_error("reload (%s): out of memory; the previous rules keep running", why);
			pipeline_error(st, &e);
		} else if (size_vals(st) != 0) {
			log_error("out of memory");
			st->status = EXIT_SOFTWARE;
			st->stop = true;
		} else {
			log_warn("reload (%s): %zu rules, %ld kept their state", why, n, kept);
		}
	}
	/* The files seen now are the ones to watch, whatever the outcome. */
	time_t *m = realloc(st->mtimes, (engine_rules(st->en)->nfiles + 1) * sizeof(*m));
	if (m != NULL) {
		st->mtimes = m;
		file_mtimes(st, m);
	}
}

static bool
rules_changed(struct state *st)
{
	const struct ruleset *rs = engine_rules(st->en);
	time_t *now = calloc(rs->nfiles + 1, sizeof(*now));
	bool changed = false;
	if (now != NULL && st->mtimes != NULL) {
		file_mtimes(st, now);
		changed = memcmp(now, st->mtimes, rs->nfiles * sizeof(*now)) != 0;
	}
	free(now);
	return changed;
}

/* ---- records ---- */

static void
stats(struct state *st)
{
	struct engine_stats s;
	struct rusage ru;
	const struct ruleset *rs = engine_rules(st->en);
	char *by_rule = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&by_rule, &len);

	/* Alerts per rule, for the rules that have fired: id=count,... */
	for (size_t i = 0, n = 0; f != NULL && i < rs->n; i++) {
		uint64_t a = engine_rule_alerts(st->en, i);
		if (a > 0)
			fprintf(f, "%s%s=%llu", n++ ? "," : "", rs->rule[i].id, (unsigned long long)a);
	}
	if (f != NULL)
		fclose(f);
	engine_stats(st->en, &s);
	getrusage(RUSAGE_SELF, &ru);
	log_error("events %llu alerts %llu suppressed %llu rejected %llu late %llu "
	    "no_timestamp %llu groups %llu evictions %llu reloads %llu failed_reloads %llu rss_kb %ld "
	    "by_rule %s",
	    (unsigned long long)s.events, (unsigned long long)s.alerts,
	    (unsigned long long)s.suppressed, (unsigned long long)st->in.rejected,
	    (unsigned long long)st->late, (unsigned long long)st->no_ts,
	    (unsigned long long)s.groups, (unsigned long long)s.evictions,
	    (unsigned long long)st->reloads, (unsigned long long)st->reload_failures,
	    ru.ru_maxrss, by_rule != NULL && len > 0 ? by_rule : "-");
	free(by_rule);
}

static void
reject(struct state *st, uint64_t lineno, const char *why, const char *s, size_t n)
{
	if (feed_reject(&st->in, lineno, why, s, n) != 0) {
		st->status = EXIT_DATAERR;
		st->stop = true;
	}
}

/* The line with the alerts written for it spliced in before its closing
 * brace, as "alerts":[...]. */
static void
emit_with_alerts(struct state *st, const char *s, size_t n)
{
	/* Alert objects are newline-terminated and hold no raw newline:
	 * the newlines become the commas between them. */
	char *a = st->alerts.buf;
	size_t len = st->alerts.len;
	for (size_t i = 0; i < len; i++)
		if (a[i] == '\n')
			a[i] = ',';
	len--;			/* the last one's */

	/* A record that has an "alerts" array already (it went through
	 * another anomaly-detect) gets these added to it; any other
	 * "alerts" value is replaced; no record gets the key twice. */
	const struct sval *old = &st->vals[engine_rules(st->en)->alerts_slot];
	const char *from = NULL, *to = NULL;
	if (old->type == '"' && old->p > s && old->p + old->len < s + n) {
		from = old->p - 1;
		to = old->p + old->len + 1;
	} else if (old->type != 0 && old->type != '"') {
		from = old->p;
		to = old->p + old->len;
	}
	if (old->type == '[') {
		const char *in = from + 1;
		while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
			in++;
		jw_bytes(&st->out, s, (size_t)(to - 1 - s));
		if (*in != ']')
			jw_bytes(&st->out, ",", 1);
		jw_bytes(&st->out, a, len);
		jw_bytes(&st->out, to - 1, (size_t)(s + n - (to - 1)));
	} else if (from != NULL) {
		jw_bytes(&st->out, s, (size_t)(from - s));
		jw_bytes(&st->out, "[", 1);
		jw_bytes(&st->out, a, len);
		jw_bytes(&st->out, "]", 1);
		jw_bytes(&st->out, to, (size_t)(s + n - to));
	} else {
		const char *close = s + n - 1;
		while (*close != '}')
			close--;
		const char *before = close - 1;
		while (before > s && (*before == ' ' || *before == '\t' ||
		    *before == '\r' || *before == '\n'))
			before--;
		jw_bytes(&st->out, s, (size_t)(close - s));
		jw_bytes(&st->out, *before == '{' ? "\"alerts\":[" : ",\"alerts\":[",
		    *before == '{' ? 10 : 11);
		jw_bytes(&st->out, a, len);
		jw_bytes(&st->out, "]", 1);
		jw_bytes(&st->out, close, (size_t)(s + n - close));
	}
	jw_end(&st->out);
}

static void
line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct jscan_err je;
	const struct ruleset *rs = engine_rules(st->en);

	if (scan_record(engine_scan(st->en), s, n, st->vals, &je) != 0) {
		char why[160];
		snprintf(why, sizeof(why), "%s at byte %zu", je.msg, je.pos + 1);
		reject(st, lineno, why, s, n);
		return;
	}

	int64_t ts;
	const struct sval *t = &st->vals[rs->ts_slot];
	if (st->o.wall) {
		ts = clock_wall_ms();
	} else if (t->type == '"' && rfc3339_parse_cached(&st->minute, t->p, t->len, &ts) == 0) {
		if (st->watermark == NO_TIME || ts > st->watermark) {
			st->watermark = ts;
		} else if (ts < st->watermark - st->o.lateness) {
			st->late++;
			reject(st, lineno, "late: older than the newest event by more than --lateness",
			    s, n);
			return;
		}
	} else {
		/* Counted at its arrival on the event clock: the newest event
		 * time seen, the stream's present (the wall clock before any
		 * event had a time).  The wall clock itself would, in a replay,
		 * move its group's window years ahead of the events after it. */
		st->no_ts++;
		ts = st->watermark != NO_TIME ? st->watermark : clock_wall_ms();
	}

	jw_reset(&st->alerts);
	size_t fired = engine_event(st->en, st->vals, ts, &st->alerts);
	if (!st->o.emit_all)
		jw_bytes(&st->out, st->alerts.buf, st->alerts.len);
	else if (fired == 0) {
		jw_bytes(&st->out, s, n);
		jw_end(&st->out);
	} else {
		emit_with_alerts(st, s, n);
	}
	/* On the event clock an event up to --lateness behind the newest
	 * still counts, so only what lies before that may be forgotten. */
	if (!st->o.wall && st->in.lines % PRUNE_EVERY == 0 && st->watermark != NO_TIME)
		engine_tick(st->en, st->watermark - st->o.lateness);
}

static bool
flush(struct state *st)
{
	int rc = cli_flush(&st->out, &st->rj);
	if (rc == 0)
		return true;
	if (rc == EXIT_IOERR)
		log_error("write error: %s", strerror(st->out.err));
	st->status = rc;
	st->stop = true;
	return false;
}

static void
save_state(struct state *st)
{
	struct sl_err e;
	if (st->o.state != NULL && engine_save_state(st->en, st->o.state, &e) != 0)
		log_err(&e);
}

/* Timers: the wall clock, --watch and --state-interval. */
static void
timers(struct state *st)
{
	int64_t now = clock_wall_ms();
	if (now < st->next_tick)
		return;
	st->next_tick = now + TICK_MS;
	if (st->o.wall)
		engine_tick(st->en, now);
	if (st->o.watch && now >= st->next_watch) {
		st->next_watch = now + WATCH_MS;
		if (rules_changed(st))
			reload(st, "a rules file changed");
	}
	if (st->o.state != NULL && now >= st->next_save) {
		st->next_save = now + st->o.state_interval;
		save_state(st);
	}
}

static void
signals(struct state *st)
{
	if (sig_usr1) {
		sig_usr1 = 0;
		stats(st);
	}
	if (sig_hup) {
		struct sl_err e;
		sig_hup = 0;
		if (reject_reopen(&st->rj, &e) != 0)
			log_err(&e);
		reload(st, "SIGHUP");
		flush(st);
	}
	if (sig_term)
		st->stop = true;
}

static void
run(struct state *st)
{
	struct ndjson_reader *r = &st->in.rd;

	r->timeout_ms = TICK_MS;
	while (!st->stop) {
		switch (feed_next(&st->in)) {
		case FEED_LINE:
			line(st, r->line, r->len, r->lineno);
			if (st->out.err)
				flush(st);
			if ((st->in.lines & 1023) == 0)
				timers(st);
			break;
		case FEED_IDLE:
			flush(st);
			timers(st);
			break;
		case FEED_TIMEOUT:
		case FEED_INTR:
			timers(st);
			flush(st);	/* a reload may have written a record */
			break;
		case FEED_STRICT:
			st->status = EXIT_DATAERR;
			st->stop = true;
			break;
		case FEED_EOF:
			return;
		case FEED_ERROR:
			log_error("stdin: read error: %s", strerror(errno));
			st->status = EXIT_IOERR;
			return;
		}
		signals(st);
		if (st->out.err)
			flush(st);
	}
}

/* ---- setup ---- */

static int
duration_opt(const char *name, const char *arg, int64_t *ms, bool zero_ok)
{
	const char *why;
	if (duration_parse(arg, ms, &why) != 0)
		return cli_usage_error("%s %s: %s", name, arg, why);
	if (*ms == 0 && !zero_ok)
		return cli_usage_error("%s must be longer than 0", name);
	return 0;
}

static int
parse_options(struct state *st, int argc, char **argv)
{
	struct opts *o = &st->o;
	static const char *const clocks[] = { "event", "wall", NULL };
	static const char *const emits[] = { "alerts", "all", NULL };
	const char *why;
	int c, rc, v, verbosity = LOG_NORMAL;

	o->max_groups = 100000;
	o->max_line = NDJSON_DEFAULT_MAX_LINE;
	o->state_interval = 60 * 1000;
	o->lateness = 60 * 1000;
	o->rules = calloc((size_t)argc + 1, sizeof(*o->rules));
	if (o->rules == NULL)
		return EXIT_SOFTWARE;
	while ((c = getopt_long(argc, argv, "e:hM:qr:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->check = true; break;
		case 'C':
			if ((v = cli_choice(optarg, clocks)) < 0)
				return cli_usage_error("--clock %s: event or wall", optarg);
			o->wall = v == 1;
			break;
		case 'D': o->dump = true; break;
		case 'e':
			if ((v = cli_choice(optarg, emits)) < 0)
				return cli_usage_error("--emit %s: alerts or all", optarg);
			o->emit_all = v == 1;
			break;
		case 'g':
			if (cli_number(optarg, 1, 100000000, &o->max_groups, &why) != 0)
				return cli_usage_error("--max-groups %s: %s (1 to 100000000)", optarg, why);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'i':
			if ((rc = duration_opt("--state-interval", optarg, &o->state_interval, false)) != 0)
				return rc;
			break;
		case 'j': o->reject = optarg; break;
		case 'l':
			if ((rc = duration_opt("--lateness", optarg, &o->lateness, true)) != 0)
				return rc;
			break;
		case 'M':
			if (cli_size(optarg, 64, (uint64_t)1 << 30, &o->max_line, &why) != 0)
				return cli_usage_error("--max-line %s: %s (64 bytes to 1G)", optarg, why);
			break;
		case 'q': verbosity = LOG_QUIET; break;
		case 'r': o->rules[o->nrules++] = optarg; break;
		case 's': o->state = optarg; break;
		case 'S': o->strict = true; break;
		case 'v': verbosity = LOG_VERBOSE; break;
		case 'V':
			cli_version();
			exit(0);
		case 'w': o->watch = true; break;
		default:
			return cli_usage_error("unknown or incomplete option");
		}
	}
	log_init(argv[0], verbosity);
	if (optind < argc)
		return cli_usage_error("unexpected argument \"%s\" (events come on standard input)",
		    argv[optind]);
	if (o->nrules == 0)
		return cli_usage_error("no rules: give -r FILE or -r DIRECTORY");
	return 0;
}

static int
load(struct state *st)
{
	struct ruleset rs;
	struct sl_err first;
	size_t errors = ruleset_load(&rs, st->o.rules, st->o.nrules, print_error,
	    st->o.check ? (void *)st : NULL, &first);

	if (st->o.check) {
		if (errors == 0)
			printf("%zu rules ok\n", rs.n + rs.disabled);
		else
			printf("%zu error%s\n", errors, errors == 1 ? "" : "s");
		ruleset_free(&rs);
		return errors == 0 ? 0 : EXIT_CONFIG;
	}
	if (errors > 0)
		return EXIT_CONFIG;
	if (st->o.dump) {
		char *s = ruleset_dump(&rs);
		if (s != NULL)
			puts(s);
		free(s);
		ruleset_free(&rs);
		return s != NULL ? 0 : EXIT_SOFTWARE;
	}
	if ((st->en = engine_new(&rs, (size_t)st->o.max_groups)) == NULL) {
		ruleset_free(&rs);
		log_error("out of memory");
		return EXIT_SOFTWARE;
	}
	if (size_vals(st) != 0) {
		log_error("out of memory");
		return EXIT_SOFTWARE;
	}
	if (st->o.state != NULL && access(st->o.state, F_OK) == 0) {
		struct sl_err e;
		int n = engine_load_state(st->en, st->o.state, &e);
		if (n < 0) {
			char buf[1024];
			err_where(&e, buf, sizeof(buf));
			log_warn("%s; starting without saved state", buf);
		} else {
			log_debug("%s: state restored for %d rules", st->o.state, n);
		}
	}
	st->mtimes = calloc(engine_rules(st->en)->nfiles + 1, sizeof(*st->mtimes));
	if (st->mtimes != NULL)
		file_mtimes(st, st->mtimes);
	return 0;
}

static void
cleanup(struct state *st)
{
	engine_free(st->en);
	feed_free(&st->in);
	jw_free(&st->out);
	jw_free(&st->alerts);
	free(st->vals);
	free(st->mtimes);
	free(st->o.rules);
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sl_err e;
	int rc;

	memset(&st, 0, sizeof(st));
	st.watermark = NO_TIME;
	log_init(argv[0], LOG_NORMAL);
	if ((rc = parse_options(&st, argc, argv)) != 0 || (rc = load(&st)) != 0 ||
	    st.o.check || st.o.dump) {
		cleanup(&st);
		return rc;
	}
	if (sig_install() != 0 || feed_init(&st.in, STDIN_FILENO, st.o.max_line, &st.rj) != 0 ||
	    jw_init(&st.out, STDOUT_FILENO) != 0 || jw_init(&st.alerts, -1) != 0) {
		log_error("cannot start: %s", strerror(errno));
		cleanup(&st);
		return EXIT_SOFTWARE;
	}
	if (reject_open(&st.rj, st.o.reject, st.o.strict, &e) != 0) {
		log_err(&e);
		cleanup(&st);
		return EXIT_IOERR;
	}
	int64_t now = clock_wall_ms();
	st.next_tick = now + TICK_MS;
	st.next_watch = now + WATCH_MS;
	st.next_save = now + st.o.state_interval;

	run(&st);

	save_state(&st);
	flush(&st);
	if (reject_close(&st.rj) != 0 && st.status == 0) {
		log_error("%s: write error", st.o.reject);
		st.status = EXIT_IOERR;
	}
	if (log_verbosity() >= LOG_VERBOSE)
		stats(&st);
	cleanup(&st);
	return st.status;
}
