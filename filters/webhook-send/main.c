/*
 * webhook-send - deliver each record to every enabled webhook whose events
 * selection matches it: signed (Standard Webhooks), retried with backoff,
 * many at once; one delivery record per attempt on standard output.
 *
 * One thread, one loop: standard input and libcurl's sockets are waited
 * on together (curl_multi_poll), so reading never stalls deliveries and a
 * slow receiver never stalls reading.  Input is read only while fewer than
 * --max-queued deliveries wait for a connection, so memory stays bounded
 * when receivers fall behind; retries waiting their turn do not count.
 *
 * Ending: at end of input the deliveries already queued are attempted, and
 * retries continue for up to --linger; on SIGTERM or SIGINT nothing new
 * starts.  Either way attempts in flight finish, and every delivery that
 * still had an attempt to make is written as a final failure with error
 * "shutdown" and its payload, for delivery-log replay.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "clock.h"
#include "deliver.h"
#include "duration.h"
#include "log.h"
#include "sig.h"

static void
usage(FILE *f)
{
	fputs(
"usage: webhook-send -c file [-n] [-C n] [-H n] [--allow-private] [--check]\n"
"                    [--linger duration] [--max-queued n] [-r file] [-M bytes]\n"
"                    [--strict] [-qv]\n"
"\n"
"Deliver each record to every enabled webhook whose events selection matches\n"
"it, signed (Standard Webhooks) and retried; write one delivery record per\n"
"attempt.\n"
"\n"
"  -c, --config FILE        the webhooks (man 5 sluice-webhooks; required)\n"
"  -C, --concurrency N      requests in flight at once (default 32, 1 to 1024)\n"
"  -H, --per-host N         requests in flight to one host (default: --concurrency)\n"
"  -n, --dry-run            write the signed requests as NDJSON; send nothing\n"
"      --check              check the configuration, print \"N webhooks ok\"\n"
"      --allow-private      let every webhook reach loopback, private and\n"
"                           link-local addresses\n"
"      --linger DURATION    at end of input, go on retrying for up to DURATION\n"
"                           (default 0s: deliveries queued are still attempted)\n"
"      --max-queued N       stop reading while N deliveries wait for a\n"
"                           connection (default 10000)\n"
"  -r, --reject FILE        append rejected lines to FILE as NDJSON\n"
"      --strict             exit 65 at the first rejected line\n"
"  -M, --max-line BYTES     longest line accepted (default 1M)\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            more diagnostics, and stats at exit\n"
"  -h, --help               this help\n"
"  -V, --version            version\n", f);
}

enum { OPT_ALLOW_PRIVATE = 256, OPT_CHECK, OPT_LINGER, OPT_MAX_QUEUED, OPT_STRICT };

static const struct option longopts[] = {
	{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "concurrency", required_argument, NULL, 'C' },
	{ "config", required_argument, NULL, 'c' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "linger", required_argument, NULL, OPT_LINGER },
	{ "max-line", required_argument, NULL, 'M' },
	{ "max-queued", required_argument, NULL, OPT_MAX_QUEUED },
	{ "per-host", required_argument, NULL, 'H' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "reject", required_argument, NULL, 'r' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char *config, *reject;
	long long concurrency, per_host, max_queued;
	uint64_t max_line;
	int64_t linger_ms;
	bool dry_run, check, allow_private, strict;
};

struct state {
	struct opts o;
	struct config *cfg;
	struct sval *vals;
	size_t nvals;
	struct feed in;
	struct reject rj;
	struct jw out;
	struct deliverer d;
	bool reading, stopping;
	int status;
};

/* --- configuration -------------------------------------------------------- */

static int
use_config(struct state *st, struct config *c)
{
	size_t n = scan_slots(c->scan);

	if (n > st->nvals) {
		struct sval *v = realloc(st->vals, n * sizeof(*v));
		if (v == NULL)
			return -1;
		st->vals = v;
		st->nvals = n;
	}
	if (deliver_attach(&st->d, c) != 0)
		return -1;
	config_unref(st->cfg);
	st->cfg = c;
	return 0;
}

static void
reload(struct state *st)
{
	struct sl_err e;
	struct config *c = config_load(st->o.config, &e);

	if (c == NULL) {
		log_err(&e);
		log_error("%s: not reloaded; the running configuration stays", st->o.config);
		return;
	}
	if (use_config(st, c) != 0) {
		config_unref(c);
		log_error("%s: not reloaded: out of memory", st->o.config);
		return;
	}
	log_debug("%s: reloaded, %zu webhooks", st->o.config, c->nhooks);
}

/* --- the loop ------------------------------------------------------------- */

static void
stats(struct state *st)
{
	const struct deliver_stats *s = &st->d.st;
	log_error("lines %llu rejected %llu deliveries %llu attempts %llu delivered %llu "
	    "failed %llu retries %llu refused %llu in-flight %zu queued %zu waiting %zu",
	    (unsigned long long)st->in.lines, (unsigned long long)st->in.rejected,
	    (unsigned long long)s->deliveries, (unsigned long long)s->attempts,
	    (unsigned long long)s->delivered, (unsigned long long)s->failed,
	    (unsigned long long)s->retries, (unsigned long long)s->refused,
	    st->d.inflight, st->d.queued, st->d.nheap);
}

static void
stop(struct state *st, int status)
{
	if (status != 0 && st->status == 0)
		st->status = status;
	st->reading = false;
	if (!st->stopping) {
		st->stopping = true;
		deliver_end(&st->d, clock_wall_ms(), true);
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
		reload(st);
		if (reject_reopen(&st->rj, &e) != 0)
			log_err(&e);
	}
	if (sig_term)
		stop(st, 0);
}

static void
line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct jscan_err je;

	if (scan_record(st->cfg->scan, s, n, st->vals, &je) != 0) {
		char why[160];
		snprintf(why, sizeof(why), "%s at column %zu", je.msg, je.pos + 1);
		if (feed_reject(&st->in, lineno, why, s, n) != 0)
			stop(st, EXIT_DATAERR);
		return;
	}
	deliver_record(&st->d, st->cfg, st->vals, s, n);
}

/* Read what is ready, while there is room to queue it. */
static void
read_input(struct state *st)
{
	struct ndjson_reader *r = &st->in.rd;

	while (st->reading && st->d.queued < (size_t)st->o.max_queued) {
		switch (feed_next(&st->in)) {
		case FEED_LINE:
			line(st, r->line, r->len, r->lineno);
			break;
		case FEED_STRICT:
			stop(st, EXIT_DATAERR);
			return;
		case FEED_IDLE:
		case FEED_TIMEOUT:
		case FEED_INTR:
			return;
		case FEED_EOF:
			st->reading = false;
			deliver_end(&st->d, clock_wall_ms() + st->o.linger_ms, false);
			return;
		case FEED_ERROR:
			log_error("stdin: read error: %s", strerror(errno));
			stop(st, EXIT_IOERR);
			return;
		}
	}
}

static void
run(struct state *st)
{
	st->reading = true;
	for (;;) {
		signals(st);
		if (st->reading)
			read_input(st);
		deliver_step(&st->d);
		int rc = cli_flush(&st->out, &st->rj);
		if (rc != 0) {
			if (rc == EXIT_IOERR)
				log_error("stdout: write error: %s", strerror(st->out.err));
			st->status = rc;
			return;		/* nobody to tell about the rest */
		}
		if (!st->reading && deliver_pending(&st->d) == 0)
			return;
		bool want_input = st->reading && st->d.queued < (size_t)st->o.max_queued;
		deliver_poll(&st->d, want_input ? STDIN_FILENO : -1, 1000);
	}
}

/* --- options and start ------------------------------------------------------ */

static int
parse_options(struct opts *o, int argc, char **argv)
{
	const char *why;
	int c, verbosity = LOG_NORMAL;
	bool have_per_host = false;

	o->concurrency = 32;
	o->max_queued = 10000;
	o->max_line = NDJSON_DEFAULT_MAX_LINE;
	while ((c = getopt_long(argc, argv, "C:c:H:hM:nqr:vV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ALLOW_PRIVATE: o->allow_private = true; break;
		case OPT_CHECK: o->check = true; break;
		case 'C':
			if (cli_number(optarg, 1, 1024, &o->concurrency, &why) != 0)
				return cli_usage_error("--concurrency %s: %s (1 to 1024)", optarg, why);
			break;
		case 'c': o->config = optarg; break;
		case 'H':
			if (cli_number(optarg, 1, 1024, &o->per_host, &why) != 0)
				return cli_usage_error("--per-host %s: %s (1 to 1024)", optarg, why);
			have_per_host = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_LINGER:
			if (duration_parse(optarg, &o->linger_ms, &why) != 0)
				return cli_usage_error("--linger %s: %s", optarg, why);
			break;
		case 'M':
			if (cli_size(optarg, 64, (uint64_t)1 << 30, &o->max_line, &why) != 0)
				return cli_usage_error("--max-line %s: %s (64 bytes to 1G)", optarg, why);
			break;
		case OPT_MAX_QUEUED:
			if (cli_number(optarg, 1, 10000000, &o->max_queued, &why) != 0)
				return cli_usage_error("--max-queued %s: %s (1 to 10000000)", optarg, why);
			break;
		case 'n': o->dry_run = true; break;
		case 'q': verbosity = LOG_QUIET; break;
		case 'r': o->reject = optarg; break;
		case OPT_STRICT: o->strict = true; break;
		case 'v': verbosity = LOG_VERBOSE; break;
		case 'V':
			cli_version();
			exit(0);
		default:
			return cli_usage_error("unknown or incomplete option");
		}
	}
	log_init(argv[0], verbosity);
	if (optind < argc)
		return cli_usage_error("no operands are taken (records come on stdin): \"%s\"", argv[optind]);
	if (o->config == NULL)
		return cli_usage_error("-c FILE (the webhooks) is required");
	if (!have_per_host || o->per_host > o->concurrency)
		o->per_host = o->concurrency;
	return 0;
}

static void
cleanup(struct state *st)
{
	deliver_free(&st->d);
	config_unref(st->cfg);
	feed_free(&st->in);
	jw_free(&st->out);
	free(st->vals);
	curl_global_cleanup();
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sl_err e;
	struct config *c;
	int rc;

	memset(&st, 0, sizeof(st));
	log_init(argv[0], LOG_NORMAL);
	if ((rc = parse_options(&st.o, argc, argv)) != 0)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot start libcurl");
		return EXIT_SOFTWARE;
	}
	if ((c = config_load(st.o.config, &e)) == NULL) {
		log_err(&e);
		curl_global_cleanup();
		return EXIT_CONFIG;
	}
	if (st.o.check) {
		printf("%zu webhooks ok\n", c->nhooks);
		config_unref(c);
		curl_global_cleanup();
		return 0;
	}
	if (sig_install() != 0 ||
	    deliver_init(&st.d, &st.out, (unsigned)st.o.concurrency, (unsigned)st.o.per_host,
	    st.o.allow_private, st.o.dry_run) != 0 ||
	    feed_init(&st.in, STDIN_FILENO, st.o.max_line, &st.rj) != 0 ||
	    jw_init(&st.out, STDOUT_FILENO) != 0 || use_config(&st, c) != 0) {
		log_error("cannot start: %s", strerror(errno));
		if (st.cfg != c)
			config_unref(c);
		cleanup(&st);
		return EXIT_SOFTWARE;
	}
	st.in.rd.timeout_ms = 0;	/* never block in read: curl_multi_poll waits */
	if (reject_open(&st.rj, st.o.reject, st.o.strict, &e) != 0) {
		log_err(&e);
		cleanup(&st);
		return EXIT_IOERR;
	}

	run(&st);

	if (reject_close(&st.rj) != 0 && st.status == 0) {
		log_error("%s: write error", st.o.reject);
		st.status = EXIT_IOERR;
	}
	if (log_verbosity() >= LOG_VERBOSE)
		stats(&st);
	cleanup(&st);
	return st.status;
}
