/*
 * rate-gate - let a record pass when fewer than --limit records with the
 * same key passed within the sliding --window; shared exactly through
 * Redis, or kept in process.
 *
 * Reads NDJSON records on standard input and writes those that pass on
 * standard output, byte for byte (with a "rate" object spliced in under
 * --annotate, for records tagged as exceeding, and for records decided
 * while Redis was unavailable).  Records over the limit are dropped,
 * tagged or diverted to a file (--exceed).  A line that is not a JSON
 * object is rejected with its line number, never dropped silently.
 *
 * Embedded mode decides each record as it is read.  With Redis, records
 * wait in a queue while their decisions travel to the server in one
 * pipelined batch; the batch is sent when it is full or as soon as the
 * input has nothing more ready, so a record of a slow stream never waits
 * for others to arrive, and output keeps the input's order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "duration.h"
#include "log.h"
#include "rate-gate.h"
#include "sig.h"

static void
usage(FILE *f)
{
	fputs(
"usage: rate-gate -l limit -w window [-aq] [-k template] [-R url] [-p prefix]\n"
"                 [-F open|closed|local] [-e drop|tag|divert] [-d file] [-s file]\n"
"                 [-c wall|event] [-r file] [-M bytes] [-b n] [-t timeout]\n"
"                 [--local-limit n] [--require-redis] [--strict]\n"
"\n"
"Pass a record when fewer than LIMIT records with its key passed within the\n"
"sliding WINDOW; exact across processes when they share a Redis server.\n"
"\n"
"  -l, --limit N            records per key per window (required)\n"
"  -w, --window DURATION    the sliding window: 250ms, 10s, 5m, 2h, 7d (required)\n"
"  -k, --key TEMPLATE       key from dotted fields, e.g. '{rule.id}:{alert.group}'\n"
"                           (default: one key for every record)\n"
"  -R, --redis URL          share the limit through Redis: redis://[[user]:pass@]host[:port][/db]\n"
"                           or unix:///path[?db=N] (default: $REDIS_URL, else in process)\n"
"  -p, --prefix TEXT        prefix of the Redis keys (default \"rate-gate:\")\n"
"  -F, --fail MODE          while Redis is unavailable: open (pass, marked degraded),\n"
"                           closed (treat as exceeding) or local (limit in process)\n"
"      --local-limit N      the limit under --fail local (default: --limit)\n"
"  -t, --redis-timeout D    longest wait for Redis per batch (default 250ms)\n"
"  -b, --batch N            decisions per Redis round trip (default 256)\n"
"      --require-redis      exit 69 when Redis is unreachable at start\n"
"  -e, --exceed ACTION      drop (default), tag (pass with rate.allowed false)\n"
"                           or divert (to --divert FILE)\n"
"  -d, --divert FILE        append exceeding records to FILE (implies -e divert)\n"
"  -a, --annotate           add rate: {key, count, limit, window_s, allowed,\n"
"                           remaining, retry_after_ms} to every record written\n"
"  -s, --state FILE         embedded mode: keep the windows in FILE across restarts\n"
"  -c, --clock CLOCK        wall (default; Redis' clock with Redis) or event (@timestamp)\n"
"  -r, --reject FILE        append rejected lines to FILE as NDJSON\n"
"      --strict             exit 65 at the first rejected line\n"
"  -M, --max-line BYTES     longest line accepted (default 1M)\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            more diagnostics\n"
"  -h, --help               this help\n"
"  -V, --version            version\n", f);
}

enum { OPT_STRICT = 256, OPT_LOCAL_LIMIT, OPT_REQUIRE_REDIS };

static const struct option longopts[] = {
	{ "annotate", no_argument, NULL, 'a' },
	{ "batch", required_argument, NULL, 'b' },
	{ "clock", required_argument, NULL, 'c' },
	{ "divert", required_argument, NULL, 'd' },
	{ "exceed", required_argument, NULL, 'e' },
	{ "fail", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "key", required_argument, NULL, 'k' },
	{ "limit", required_argument, NULL, 'l' },
	{ "local-limit", required_argument, NULL, OPT_LOCAL_LIMIT },
	{ "max-line", required_argument, NULL, 'M' },
	{ "prefix", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "redis", required_argument, NULL, 'R' },
	{ "redis-timeout", required_argument, NULL, 't' },
	{ "reject", required_argument, NULL, 'r' },
	{ "require-redis", no_argument, NULL, OPT_REQUIRE_REDIS },
	{ "state", required_argument, NULL, 's' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "window", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

/* --- the record loop ---------------------------------------------------- */

static void
stats(struct state *st)
{
	log_error("lines %llu allowed %llu exceeded %llu degraded %llu rejected %llu "
	    "empty %llu missing-key %llu redis-errors %llu reconnects %llu keys %zu",
	    (unsigned long long)st->in.lines, (unsigned long long)st->allowed,
	    (unsigned long long)st->exceeded, (unsigned long long)st->degraded,
	    (unsigned long long)st->in.rejected, (unsigned long long)st->in.empty,
	    (unsigned long long)st->missing, (unsigned long long)st->rem.errors,
	    (unsigned long long)st->rem.reconnects,
	    st->remote ? window_keys(&st->local) : window_keys(&st->win));
}

static void
line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	if (st->remote)
		record_remote(st, s, n, lineno);
	else
		record_embedded(st, s, n, lineno);
}

/* Write out one writer; false when the program must stop. */
static bool
flush_one(struct state *st, struct jw *w, const char *what)
{
	if (jw_flush(w) == 0)
		return true;
	if (w == &st->out && w->err == EPIPE) {
		st->status = EXIT_PIPE;
	} else {
		log_error("%s: write error: %s", what, strerror(w->err));
		st->status = EXIT_IOERR;
	}
	st->stop = true;
	return false;
}

static bool
flush(struct state *st)
{
	reject_flush(&st->rj);
	if (st->div_fd >= 0 && !flush_one(st, &st->div, st->o.divert))
		return false;
	return flush_one(st, &st->out, "stdout");
}

static int
open_divert(struct state *st)
{
	st->div_fd = open(st->o.divert, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (st->div_fd < 0) {
		log_error("%s: %s", st->o.divert, strerror(errno));
		return -1;
	}
	st->div.fd = st->div_fd;
	return 0;
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
		if (st->div_fd >= 0) {
			/* logrotate moved the file: write what we hold to the
			 * old one, then start the new one. */
			flush(st);
			close(st->div_fd);
			if (open_divert(st) != 0) {
				st->status = EXIT_IOERR;
				st->stop = true;
			}
		}
	}
	if (sig_term)
		st->stop = true;
}

static void
run(struct state *st)
{
	struct ndjson_reader *r = &st->in.rd;

	while (!st->stop) {
		switch (feed_next(&st->in)) {
		case FEED_LINE:
			line(st, r->line, r->len, r->lineno);
			if (st->out.err || st->div.err)
				flush(st);
			break;
		case FEED_STRICT:
			st->status = EXIT_DATAERR;
			st->stop = true;
			break;
		case FEED_IDLE:
		case FEED_TIMEOUT:
			settle(st);
			flush(st);
			break;
		case FEED_INTR:
			break;
		case FEED_EOF:
			return;
		case FEED_ERROR:
			log_error("stdin: read error: %s", strerror(errno));
			st->status = EXIT_IOERR;
			return;
		}
		signals(st);
	}
}

/* --- options ------------------------------------------------------------ */

static int
parse_options(struct state *st, int argc, char **argv)
{
	struct opts *o = &st->o;
	const char *why;
	static const char *const clock_names[] = { "wall", "event", NULL };
	static const char *const exceed_names[] = {	/* in enum exceed's order */
		"drop", "tag", "divert", NULL };
	static const char *const fail_names[] = {	/* in enum fail's order */
		"open", "closed", "local", NULL };
	int c, v, verbosity = LOG_NORMAL;
	bool have_limit = false, have_window = false;

	o->timeout_ms = 250;
	o->batch = 256;
	o->prefix = DEFAULT_PREFIX;
	o->key = "";
	o->max_line = NDJSON_DEFAULT_MAX_LINE;
	while ((c = getopt_long(argc, argv, "ab:c:d:e:F:hk:l:M:p:qR:r:s:t:vVw:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->annotate = true; break;
		case 'b':
			if (cli_number(optarg, 1, 1000, &o->batch, &why) != 0)
				return cli_usage_error("--batch %s: %s (1 to 1000)", optarg, why);
			break;
		case 'c':
			if ((v = cli_choice(optarg, clock_names)) < 0)
				return cli_usage_error("--clock %s: wall or event", optarg);
			o->event_clock = v == 1;
			break;
		case 'd': o->divert = optarg; break;
		case 'e':
			if ((v = cli_choice(optarg, exceed_names)) < 0)
				return cli_usage_error("--exceed %s: drop, tag or divert", optarg);
			o->exceed = (enum exceed)v;
			o->exceed_given = true;
			break;
		case 'F':
			if ((v = cli_choice(optarg, fail_names)) < 0)
				return cli_usage_error("--fail %s: open, closed or local", optarg);
			o->fail = (enum fail)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'k': o->key = optarg; break;
		case 'l':
			if (cli_number(optarg, 1, 100000000, &o->limit, &why) != 0)
				return cli_usage_error("--limit %s: %s (1 to 100000000)", optarg, why);
			have_limit = true;
			break;
		case OPT_LOCAL_LIMIT:
			if (cli_number(optarg, 1, 100000000, &o->local_limit, &why) != 0)
				return cli_usage_error("--local-limit %s: %s (1 to 100000000)", optarg, why);
			break;
		case 'M':
			if (cli_size(optarg, 64, (uint64_t)1 << 30, &o->max_line, &why) != 0)
				return cli_usage_error("--max-line %s: %s (64 bytes to 1G)", optarg, why);
			break;
		case 'p': o->prefix = optarg; break;
		case 'q': verbosity = LOG_QUIET; break;
		case 'R': o->redis = optarg; break;
		case 'r': o->reject = optarg; break;
		case OPT_REQUIRE_REDIS: o->require_redis = true; break;
		case 's': o->state = optarg; break;
		case OPT_STRICT: o->strict = true; break;
		case 't':
			if (duration_parse(optarg, &o->timeout_ms, &why) != 0)
				return cli_usage_error("--redis-timeout %s: %s", optarg, why);
			if (o->timeout_ms < 1 || o->timeout_ms > 60000)
				return cli_usage_error("--redis-timeout %s: 1ms to 1m", optarg);
			break;
		case 'v': verbosity = LOG_VERBOSE; break;
		case 'V':
			cli_version();
			exit(0);
		case 'w':
			if (duration_parse(optarg, &o->window_ms, &why) != 0)
				return cli_usage_error("--window %s: %s", optarg, why);
			if (o->window_ms < 1 || o->window_ms > 366LL * 86400 * 1000)
				return cli_usage_error("--window %s: 1ms to 366d", optarg);
			have_window = true;
			break;
		default:
			return cli_usage_error("unknown or incomplete option");
		}
	}
	log_init(argv[0], verbosity);
	if (optind < argc)
		return cli_usage_error("no operands are taken (records come on stdin): \"%s\"", argv[optind]);
	if (!have_limit || !have_window)
		return cli_usage_error("--limit and --window are required");
	if (o->redis == NULL) {
		const char *env = getenv("REDIS_URL");
		if (env != NULL && *env != '\0')
			o->redis = env;
	}
	if (o->divert != NULL && !o->exceed_given)
		o->exceed = EXCEED_DIVERT;
	if (o->exceed == EXCEED_DIVERT && o->divert == NULL)
		return cli_usage_error("--exceed divert needs --divert FILE");
	if (o->divert != NULL && o->exceed != EXCEED_DIVERT)
		return cli_usage_error("--divert FILE goes with --exceed divert");
	if (o->state != NULL && o->redis != NULL)
		return cli_usage_error("--state keeps the in-process windows; with Redis (--redis or REDIS_URL) they live in Redis");
	if (o->redis == NULL && (o->require_redis || o->local_limit))
		return cli_usage_error("%s needs --redis or REDIS_URL",
		    o->require_redis ? "--require-redis" : "--local-limit");
	if (o->local_limit == 0)
		o->local_limit = o->limit;
	return 0;
}

/* --- start and end ------------------------------------------------------ */

static const char *const fail_desc[] = {
	[FAIL_OPEN] = "records pass marked rate.degraded (--fail open)",
	[FAIL_CLOSED] = "records are treated as exceeding (--fail closed)",
	[FAIL_LOCAL] = "records are limited in this process (--fail local)",
};

static int
open_redis(struct state *st)
{
	struct sl_err e;

	if (remote_init(&st->rem, st->o.redis, (int)st->o.timeout_ms, (uint32_t)st->o.limit,
	    st->o.window_ms * 1000, st->o.event_clock,
	    st->o.annotate || st->o.exceed == EXCEED_TAG, fail_desc[st->o.fail], &e) != 0) {
		log_err(&e);
		return EXIT_CONFIG;
	}
	st->remote = true;
	switch (remote_connect(&st->rem, !st->o.require_redis, &e)) {
	case REDIS_UP:
		return 0;
	case REDIS_DENIED:
		log_error("redis %s: %s", st->rem.url.safe, e.msg);
		return EXIT_CONFIG;
	case REDIS_DOWN:
		if (st->o.require_redis) {
			log_error("redis %s: unreachable: %s (--require-redis)", st->rem.url.safe, e.msg);
			return EXIT_UNAVAILABLE;
		}
		break;
	}
	return 0;
}

static void
cleanup(struct state *st)
{
	feed_free(&st->in);
	jw_free(&st->out);
	jw_free(&st->div);
	jw_free(&st->key);
	for (int i = 0; i < 2; i++) {
		jw_free(&st->pend[i].arena);
		jw_free(&st->pend[i].rkeys);
		free(st->pend[i].q);
		free(st->pend[i].req);
	}
	if (st->div_fd >= 0)
		close(st->div_fd);
	keytpl_free(&st->kt);
	window_free(&st->win);
	window_free(&st->local);
	remote_free(&st->rem);
	free(st->mbig);
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sl_err e;
	int rc;

	memset(&st, 0, sizeof(st));
	st.div_fd = -1;
	log_init(argv[0], LOG_NORMAL);
	if ((rc = parse_options(&st, argc, argv)) != 0)
		return rc;
	if (keytpl_compile(&st.kt, st.o.key, &e) != 0) {
		log_error("--key %s: column %u: %s", st.o.key, e.col, e.msg);
		return EXIT_USAGE;
	}
	if (sig_install() != 0 ||
	    feed_init(&st.in, STDIN_FILENO, st.o.max_line, &st.rj) != 0 ||
	    jw_init(&st.out, STDOUT_FILENO) != 0 ||
	    jw_init(&st.div, -1) != 0 || jw_init(&st.key, -1) != 0 ||
	    jw_init(&st.pend[0].arena, -1) != 0 || jw_init(&st.pend[0].rkeys, -1) != 0 ||
	    jw_init(&st.pend[1].arena, -1) != 0 || jw_init(&st.pend[1].rkeys, -1) != 0 ||
	    window_init(&st.win, (uint32_t)st.o.limit, st.o.window_ms * 1000) != 0 ||
	    window_init(&st.local, (uint32_t)st.o.local_limit, st.o.window_ms * 1000) != 0) {
		log_error("cannot start: %s", strerror(errno));
		cleanup(&st);
		return EXIT_SOFTWARE;
	}
	rate_mid(&st);
	if (st.o.redis != NULL && (rc = open_redis(&st)) != 0) {
		cleanup(&st);
		return rc;
	}
	if (st.o.divert != NULL && open_divert(&st) != 0) {
		cleanup(&st);
		return EXIT_IOERR;
	}
	if (reject_open(&st.rj, st.o.reject, st.o.strict, &e) != 0) {
		log_err(&e);
		cleanup(&st);
		return EXIT_IOERR;
	}
	if (st.o.state != NULL) {
		int lr = window_load(&st.win, st.o.state, st.o.event_clock ? "event" : "wall",
		    clock_wall_us(), &e);
		if (lr < 0)
			log_warn("%s: %s; starting with empty windows", st.o.state, e.msg);
	}

	run(&st);

	/* Drain: the batch in flight is decided and written before exit. */
	if (st.status != EXIT_PIPE)
		settle(&st);
	flush(&st);
	if (reject_close(&st.rj) != 0 && st.status == 0) {
		log_error("%s: write error", st.o.reject);
		st.status = EXIT_IOERR;
	}
	if (st.o.state != NULL && window_save(&st.win, st.o.state,
	    st.o.event_clock ? "event" : "wall", &e) != 0) {
		log_err(&e);
		if (st.status == 0)
			st.status = EXIT_IOERR;
	}
	if (log_verbosity() >= LOG_VERBOSE)
		stats(&st);
	cleanup(&st);
	return st.status;
}
