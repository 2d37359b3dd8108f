/*
 * event-decode - raw log lines in, NDJSON events out.
 *
 * Reads text lines from the FILE operands (or standard input), decodes
 * each with the chosen format (json, logfmt, syslog, sshd, combined,
 * regex, or auto per line) and writes one JSON event per line on standard
 * output.  A line that no format understands is rejected with its line
 * number (--reject FILE, or a warning), never dropped silently.  --test
 * reports instead how well the formats fit a log.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "feed.h"
#include "clock.h"
#include "formats.h"
#include "hash.h"
#include "log.h"
#include "ndjson.h"
#include "reject.h"
#include "sig.h"
#include "swar.h"

#define SAMPLES 5
#define IDLE_JOIN_MS 100

const char *const format_names[F_COUNT] = {
	"json", "logfmt", "syslog", "sshd", "combined", "regex", "auto",
};

struct opts {
	enum format format;
	bool format_given;
	const char *source, *host, *tz, *reject;
	int year;
	bool multiline, keep_raw, keep_unparsed, test, strict;
	long long multiline_lines;
	uint64_t max_line;
};

/* --test: per format (or per pattern), lines decoded, and samples of the
 * lines the chosen format did not decode. */
struct tally {
	uint64_t decoded[F_COUNT];
	uint64_t *per_pattern;
	uint64_t failed, lines;
	struct {
		uint64_t lineno;
		char *text;
		const char *why;
	} sample[SAMPLES];
	unsigned nsample;
};

struct state {
	struct opts o;
	struct decode_ctx c;
	struct event ev;
	struct jw out;
	struct reject rj;
	struct feed in;
	const char *file;	/* log.file.path: the operand being read */
	uint64_t events, joined;
	/* --multiline: the event being assembled. */
	char *pend;
	size_t pend_len;
	uint64_t pend_lineno;
	long long pend_lines;
	bool pend_overflow;	/* it began as a continuation past the caps */
	struct tally t;
	struct jw scratch;	/* --test: where json output goes */
	char ts[RFC3339_LEN], id[32];	/* the event being finished */
	struct hash128 id_prefix;	/* event_id(): hash of id_dataset, id_file */
	struct rfc3339_cache tsc;
	const char *id_dataset, *id_file;
	size_t id_dataset_len, id_file_len;
	bool id_file_plain;	/* the file name needs no escaping */
	int status;
	bool stop;
};

static void
usage(FILE *f)
{
	fputs(
"usage: event-decode [-kmtu] [-f format] [-p regex] [-P file] [-s name] [-H name]\n"
"                    [-z zone] [-y year] [-r file] [-M bytes] [--strict] [file ...]\n"
"\n"
"Decode raw log lines into NDJSON events.\n"
"\n"
"  -f, --format FORMAT      json, logfmt, syslog, sshd, combined, regex or auto\n"
"                           (default auto: chosen per line)\n"
"  -p, --pattern REGEX      PCRE2 pattern with named captures (repeatable)\n"
"  -P, --patterns FILE      patterns, one per line ('#' comments)\n"
"  -s, --source NAME        event.dataset of every event\n"
"  -H, --host NAME          host.name for lines that name no host\n"
"  -z, --tz ZONE            zone of stamps that carry none (default: TZ, else UTC)\n"
"  -y, --year YEAR          year of year-less syslog stamps (default: current)\n"
"  -m, --multiline          join continuation lines to the event before\n"
"      --multiline-lines N  most lines joined into one event (default 500)\n"
"  -k, --keep-raw           keep the line in event.original\n"
"  -u, --keep-unparsed      pass undecodable lines on with error.message\n"
"  -t, --test               report how many lines each format decodes; no events\n"
"  -r, --reject FILE        append rejected lines to FILE as NDJSON\n"
"      --strict             exit 65 at the first rejected line\n"
"  -M, --max-line BYTES     longest line accepted (default 1M)\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            more diagnostics\n"
"  -h, --help               this help\n"
"  -V, --version            version\n", f);
}

enum { OPT_STRICT = 256, OPT_ML_LINES };

static const struct option longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "host", required_argument, NULL, 'H' },
	{ "keep-raw", no_argument, NULL, 'k' },
	{ "keep-unparsed", no_argument, NULL, 'u' },
	{ "max-line", required_argument, NULL, 'M' },
	{ "multiline", no_argument, NULL, 'm' },
	{ "multiline-lines", required_argument, NULL, OPT_ML_LINES },
	{ "pattern", required_argument, NULL, 'p' },
	{ "patterns", required_argument, NULL, 'P' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "reject", required_argument, NULL, 'r' },
	{ "source", required_argument, NULL, 's' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "test", no_argument, NULL, 't' },
	{ "tz", required_argument, NULL, 'z' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "year", required_argument, NULL, 'y' },
	{ NULL, 0, NULL, 0 },
};

/* Slots every event has, filled in by finish(): added first so that the
 * fields stay nearly sorted and the emitter's sort has little to do. */
enum { SLOT_TS, SLOT_DATASET, SLOT_ID, SLOTS };

static void
begin(struct event *ev)
{
	event_clear(ev);
	ev_str(ev, "@timestamp", NULL, 0);
	ev_str(ev, "event.dataset", NULL, 0);
	ev_str(ev, "event.id", NULL, 0);
}

/* Decode s[0, n) as format f into st->ev.  0 or -1 (ev.why). */
static int
decode_as(struct state *st, enum format f, const char *s, size_t n)
{
	struct event *ev = &st->ev;

	begin(ev);
	switch (f) {
	case F_LOGFMT: return fmt_logfmt(&st->c, ev, s, n);
	case F_SYSLOG: return fmt_syslog(&st->c, ev, s, n);
	case F_SSHD: return fmt_sshd(&st->c, ev, s, n);
	case F_COMBINED: return fmt_combined(&st->c, ev, s, n);
	case F_REGEX: return fmt_regex(&st->c, ev, s, n);
	case F_JSON:
	case F_AUTO:
	case F_COUNT:
		break;
	}
	ev->why = "internal: no decoder";
	return -1;
}

/* auto: the format a line looks like, tried in turn.  Returns the format
 * that decoded it, or F_AUTO with ev.why set. */
static enum format
decode_auto(struct state *st, const char *s, size_t n)
{
	static const enum format order[] = { F_SSHD, F_COMBINED, F_LOGFMT };

	if (looks_json(s, n))
		return F_JSON;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (decode_as(st, order[i], s, n) == 0)
			return order[i];
	if (st->c.rx != NULL && decode_as(st, F_REGEX, s, n) == 0)
		return F_REGEX;
	begin(&st->ev);
	st->ev.why = "no format matched";
	return F_AUTO;
}

/* event.id: dataset, file, line number and bytes, so ids are the same for
 * the same input and differ between lines of one stream, even across
 * files whose lines are numbered from 1 each.  The hash of the dataset and
 * file is kept, keyed by their pointers, since they change rarely. */
static void
event_id(struct state *st, const char *dataset, uint64_t lineno, const char *s,
    size_t n, char out[32])
{
	if (dataset != st->id_dataset || st->file != st->id_file) {
		st->id_dataset_len = strlen(dataset);
		st->id_file_len = st->file != NULL ? strlen(st->file) : 0;
		st->id_file_plain = st->file != NULL &&
		    json_plain_span(st->file, st->id_file_len) == st->id_file_len;
		st->id_prefix = hash128_seed(0);
		hash128_update(&st->id_prefix, dataset, st->id_dataset_len);
		if (st->file != NULL)
			hash128_update(&st->id_prefix, st->file, st->id_file_len + 1);
		st->id_dataset = dataset;
		st->id_file = st->file;
	}
	struct hash128 h = st->id_prefix;
	hash128_u64(&h, lineno);
	hash128_update(&h, s, n);
	hash128_hex(h, n, out);
}

/* Add the fields every event has, then write it. */
static void
finish(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct event *ev = &st->ev;
	const char *dataset = st->o.source ? st->o.source : ev->dataset;
	char *ts = st->ts, *id = st->id;

	rfc3339_format_cached(&st->tsc, ev->has_ts ? ev->ts : clock_wall_ms(), ts);
	event_id(st, dataset, lineno, s, n, id);
	ev->f[SLOT_TS].type = V_PLAIN;
	ev->f[SLOT_TS].v = ts;
	ev->f[SLOT_TS].vlen = RFC3339_LEN;
	ev->f[SLOT_DATASET].type = st->o.source ? V_STR : V_PLAIN;	/* ours, or the user's */
	ev->f[SLOT_DATASET].v = dataset;
	ev->f[SLOT_DATASET].vlen = (uint32_t)st->id_dataset_len;	/* event_id() measured it */
	ev->f[SLOT_ID].type = V_PLAIN;
	ev->f[SLOT_ID].v = id;
	ev->f[SLOT_ID].vlen = 32;
	if (st->o.host != NULL && ev_find(ev, "host.name") == NULL)
		ev_strz(ev, "host.name", st->o.host);
	if (st->file != NULL)
		ev_add(ev, "log.file.path", 13, st->id_file_plain ? V_PLAIN : V_STR,
		    st->file, st->id_file_len, true);
	if (st->o.keep_raw)
		ev_str(ev, "event.original", s, n);
	if (ev->overflow)
		log_limited(&st->rj.limit, "line %llu: more than %d fields; the rest were dropped",
		    (unsigned long long)lineno, EV_MAX_FIELDS);
	event_plain(ev, s, n);
	event_emit(ev, &st->out);
	st->events++;
}

static void
reject(struct state *st, uint64_t lineno, const char *why, const char *s, size_t n)
{
	if (feed_reject(&st->in, lineno, why, s, n) != 0) {
		st->status = EXIT_DATAERR;
		st->stop = true;
	}
}

/* Emit the event for s[0, n): the first line decodes, the lines after it
 * (a multiline event) are appended to its message. */
static void
decode_and_emit(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	const char *nl = st->o.multiline ? memchr(s, '\n', n) : NULL;
	size_t first = nl ? (size_t)(nl - s) : n;
	enum format f = st->o.format;
	int rc;

	if (f == F_AUTO)
		f = decode_auto(st, s, first);
	if (f == F_JSON) {
		char id[32];
		const char *why = NULL;
		struct json_extra x = {
			.id = id, .tsc = &st->tsc, .host = st->o.host,
			.dataset = st->o.source ? st->o.source : "json",
			.file = st->file, .keep_raw = st->o.keep_raw,
		};
		event_id(st, st->o.source ? st->o.source : "json", lineno, s, n, id);
		x.dataset_plain = st->o.source == NULL;
		x.file_plain = st->id_file_plain;
		if (fmt_json(&st->out, s, n, &x, &why) == 0) {
			st->events++;
			return;
		}
		begin(&st->ev);
		st->ev.why = why;
		rc = -1;
	} else if (f == F_AUTO) {
		rc = -1;
	} else if (f == st->o.format) {
		rc = decode_as(st, f, s, first);
	} else {
		rc = 0;		/* decode_auto() left the event decoded */
	}

	if (rc != 0) {
		if (!st->o.keep_unparsed) {
			reject(st, lineno, st->ev.why, s, n);
			return;
		}
		const char *why = st->ev.why;
		begin(&st->ev);
		st->ev.dataset = format_names[st->o.format];
		ev_str(&st->ev, "message", s, n);
		ev_strz(&st->ev, "error.message", why);
		finish(st, s, n, lineno);
		return;
	}
	if (nl != NULL) {
		struct field *msg = ev_find(&st->ev, "message");
		if (msg != NULL && msg->type == V_STR) {
			size_t total = msg->vlen + (n - first);
			char *joined = ev_alloc(&st->ev, total);
			if (joined != NULL) {
				memcpy(joined, msg->v, msg->vlen);
				memcpy(joined + msg->vlen, nl, n - first);
				msg->v = joined;
				msg->vlen = (uint32_t)total;
			}
		} else {
			ev_str(&st->ev, "message", nl + 1, n - first - 1);
		}
	}
	finish(st, s, n, lineno);
}

/* --- multiline ---------------------------------------------------------- */

/* Would the line decode?  A probe: the state that runs across lines (the
 * year of year-less stamps) is left as it was. */
static bool
decodes(struct state *st, const char *s, size_t n)
{
	struct decode_ctx save = st->c;
	bool ok;

	if (st->o.format == F_AUTO)
		ok = decode_auto(st, s, n) != F_AUTO;
	else if (st->o.format == F_JSON)
		ok = looks_json(s, n);
	else
		ok = decode_as(st, st->o.format, s, n) == 0;
	st->c = save;
	return ok;
}

static void
flush_pending(struct state *st)
{
	if (st->pend_len == 0)
		return;
	if (st->pend_overflow) {
		const char *nl = memchr(st->pend, '\n', st->pend_len);
		bool ok = decodes(st, st->pend, nl ? (size_t)(nl - st->pend) : st->pend_len);
		if (!ok) {
			reject(st, st->pend_lineno, "continuation past --multiline-lines or --max-line",
			    st->pend, st->pend_len);
			st->pend_len = 0;
			st->pend_lines = 0;
			return;
		}
	}
	decode_and_emit(st, st->pend, st->pend_len, st->pend_lineno);
	st->pend_len = 0;
	st->pend_lines = 0;
}

static void
multiline(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	/* A JSON record is complete in itself: nothing joins it. */
	bool cont = st->pend_len > 0 && !looks_json(st->pend, st->pend_len) &&
	    (s[0] == ' ' || s[0] == '\t' || !decodes(st, s, n));

	if (cont && st->pend_lines < st->o.multiline_lines &&
	    st->pend_len + 1 + n <= st->o.max_line) {
		st->pend[st->pend_len++] = '\n';
		memcpy(st->pend + st->pend_len, s, n);
		st->pend_len += n;
		st->pend_lines++;
		st->joined++;
		return;
	}
	flush_pending(st);
	memcpy(st->pend, s, n);
	st->pend_len = n;
	st->pend_lines = 1;
	st->pend_lineno = lineno;
	st->pend_overflow = cont;
}

/* --- --test ------------------------------------------------------------- */

static void
test_line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct tally *t = &st->t;
	bool chosen_ok = false;
	const char *why = NULL;

	t->lines++;
	for (int f = 0; f < F_AUTO; f++) {
		bool ok;
		if (f == F_REGEX && st->c.rx == NULL)
			continue;
		if (f == F_JSON) {
			char id[32] = { 0 };
			struct json_extra x = { .id = id, .tsc = &st->tsc };
			const char *w = NULL;
			jw_reset(&st->scratch);
			ok = fmt_json(&st->scratch, s, n, &x, &w) == 0;
			if (!ok && st->o.format == F_JSON)
				why = w;
		} else {
			ok = decode_as(st, (enum format)f, s, n) == 0;
			if (!ok && (int)st->o.format == f)
				why = st->ev.why;
			if (ok && f == F_REGEX)
				t->per_pattern[regex_last(st->c.rx)]++;
		}
		if (ok)
			t->decoded[f]++;
		if (st->o.format == F_AUTO ? ok : (int)st->o.format == f && ok)
			chosen_ok = true;
	}
	if (st->o.format == F_AUTO && !chosen_ok)
		why = "no format matched";
	if (chosen_ok)
		return;
	t->failed++;
	if (t->nsample < SAMPLES) {
		t->sample[t->nsample].lineno = lineno;
		t->sample[t->nsample].text = strndup(s, n < 200 ? n : 200);
		t->sample[t->nsample].why = why;
		t->nsample++;
	}
}

static int
test_report(struct state *st)
{
	struct tally *t = &st->t;

	printf("%-10s %10s %10s %7s\n", "format", "decoded", "lines", "share");
	for (int f = 0; f < F_AUTO; f++) {
		if (f == F_REGEX && st->c.rx == NULL)
			continue;
		printf("%-10s %10llu %10llu %6.1f%%%s\n", format_names[f],
		    (unsigned long long)t->decoded[f], (unsigned long long)t->lines,
		    t->lines ? 100.0 * (double)t->decoded[f] / (double)t->lines : 0.0,
		    (int)st->o.format == f ? "  <- chosen" : "");
	}
	for (size_t i = 0; i < regex_count(st->c.rx); i++)
		printf("  pattern %zu: %llu lines: %s\n", i + 1,
		    (unsigned long long)t->per_pattern[i], regex_source(st->c.rx, i));
	printf("%llu of %llu lines not decoded by %s; %llu empty lines skipped\n",
	    (unsigned long long)t->failed, (unsigned long long)t->lines,
	    format_names[st->o.format], (unsigned long long)st->in.empty);
	for (unsigned i = 0; i < t->nsample; i++) {
		printf("  line %llu: %s\n    %s\n", (unsigned long long)t->sample[i].lineno,
		    t->sample[i].why ? t->sample[i].why : "not decoded", t->sample[i].text);
		free(t->sample[i].text);
	}
	return t->failed > 0 ? 1 : 0;
}

/* --- the record loop ---------------------------------------------------- */

static void
stats(struct state *st)
{
	log_error("lines %llu events %llu rejected %llu empty %llu joined %llu",
	    (unsigned long long)st->in.lines, (unsigned long long)st->events,
	    (unsigned long long)st->in.rejected, (unsigned long long)st->in.empty,
	    (unsigned long long)st->joined);
}

static void
line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	if (st->o.test)
		test_line(st, s, n, lineno);
	else if (st->o.multiline)
		multiline(st, s, n, lineno);
	else
		decode_and_emit(st, s, n, lineno);
}

/* Write out buffered output; false when the program must stop. */
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
	}
	if (sig_term)
		st->stop = true;
}

static void
run(struct state *st, int fd)
{
	struct ndjson_reader *r = &st->in.rd;

	ndjson_reset(r, fd);
	while (!st->stop) {
		r->timeout_ms = st->pend_len > 0 ? IDLE_JOIN_MS : -1;
		switch (feed_next(&st->in)) {
		case FEED_LINE:
			line(st, r->line, r->len, r->lineno);
			if (st->out.err)
				flush(st);
			break;
		case FEED_IDLE:
			flush(st);
			break;
		case FEED_TIMEOUT:
			flush_pending(st);
			flush(st);
			break;
		case FEED_STRICT:
			st->status = EXIT_DATAERR;
			st->stop = true;
			break;
		case FEED_INTR:
			break;
		case FEED_EOF:
			return;
		case FEED_ERROR:
			log_error("%s: read error: %s", st->file ? st->file : "stdin",
			    strerror(errno));
			st->status = EXIT_IOERR;
			return;
		}
		signals(st);
	}
}

static int
parse_options(struct state *st, int argc, char **argv)
{
	struct opts *o = &st->o;
	struct sl_err e;
	const char *why;
	long long v;
	int c, verbosity = LOG_NORMAL;

	o->format = F_AUTO;
	o->multiline_lines = 500;
	o->max_line = NDJSON_DEFAULT_MAX_LINE;
	while ((c = getopt_long(argc, argv, "f:hH:kM:mp:P:qr:s:tuvVy:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (v = 0; v < F_COUNT; v++)
				if (strcmp(optarg, format_names[v]) == 0)
					break;
			if (v == F_COUNT)
				return cli_usage_error("unknown format \"%s\" (json, logfmt, syslog, sshd, combined, regex, auto)", optarg);
			o->format = (enum format)v;
			o->format_given = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'H': o->host = optarg; break;
		case 'k': o->keep_raw = true; break;
		case 'M':
			if (cli_size(optarg, 64, (uint64_t)1 << 30, &o->max_line, &why) != 0)
				return cli_usage_error("--max-line %s: %s (64 bytes to 1G)", optarg, why);
			break;
		case 'm': o->multiline = true; break;
		case OPT_ML_LINES:
			if (cli_number(optarg, 2, 100000, &o->multiline_lines, &why) != 0)
				return cli_usage_error("--multiline-lines %s: %s (2 to 100000)", optarg, why);
			break;
		case 'p':
		case 'P':
			if (st->c.rx == NULL && (st->c.rx = regex_new()) == NULL) {
				log_error("out of memory");
				return EXIT_SOFTWARE;
			}
			if (c == 'p') {
				char where[32];
				snprintf(where, sizeof(where), "--pattern %zu", regex_count(st->c.rx) + 1);
				if (regex_add(st->c.rx, optarg, strlen(optarg), where, 1, &e) != 0) {
					log_err(&e);
					return EXIT_CONFIG;
				}
			} else if (regex_load(st->c.rx, optarg, &e) != 0) {
				log_err(&e);
				return EXIT_CONFIG;
			}
			break;
		case 'q': verbosity = LOG_QUIET; break;
		case 'r': o->reject = optarg; break;
		case 's': o->source = optarg; break;
		case OPT_STRICT: o->strict = true; break;
		case 't': o->test = true; break;
		case 'u': o->keep_unparsed = true; break;
		case 'v': verbosity = LOG_VERBOSE; break;
		case 'V':
			cli_version();
			exit(0);
		case 'y':
			if (cli_number(optarg, 1970, 9999, &v, &why) != 0)
				return cli_usage_error("--year %s: %s (1970 to 9999)", optarg, why);
			o->year = (int)v;
			break;
		case 'z': o->tz = optarg; break;
		default:
			return cli_usage_error("unknown or incomplete option");
		}
	}
	log_init(argv[0], verbosity);
	if (st->c.rx != NULL && !o->format_given)
		o->format = F_REGEX;
	if (o->format == F_REGEX && st->c.rx == NULL)
		return cli_usage_error("-f regex needs --pattern or --patterns");
	if (tz_init(&st->c.tz, o->tz) != 0) {
		log_error("--tz %s: unknown time zone", o->tz);
		return EXIT_CONFIG;
	}
	st->c.year = o->year;
	return 0;
}

static void
cleanup(struct state *st)
{
	feed_free(&st->in);
	event_free(&st->ev);
	jw_free(&st->out);
	jw_free(&st->scratch);
	regex_free(st->c.rx);
	free(st->t.per_pattern);
	free(st->pend);
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sl_err e;
	int rc;

	memset(&st, 0, sizeof(st));
	log_init(argv[0], LOG_NORMAL);
	if ((rc = parse_options(&st, argc, argv)) != 0) {
		regex_free(st.c.rx);
		return rc;
	}
	if (sig_install() != 0 ||
	    feed_init(&st.in, STDIN_FILENO, st.o.max_line, &st.rj) != 0 ||
	    event_init(&st.ev, st.o.max_line) != 0 ||
	    jw_init(&st.out, STDOUT_FILENO) != 0 ||
	    (st.o.test && jw_init(&st.scratch, -1) != 0) ||
	    (st.o.multiline && (st.pend = malloc(st.o.max_line + 1)) == NULL) ||
	    (st.c.rx && (st.t.per_pattern = calloc(regex_count(st.c.rx), sizeof(uint64_t))) == NULL)) {
		log_error("cannot start: %s", strerror(errno));
		cleanup(&st);
		return EXIT_SOFTWARE;
	}
	if (reject_open(&st.rj, st.o.reject, st.o.strict, &e) != 0) {
		log_err(&e);
		cleanup(&st);
		return EXIT_IOERR;
	}
	st.c.now_ms = clock_wall_ms();

	if (optind >= argc) {
		run(&st, STDIN_FILENO);
	} else {
		for (int i = optind; i < argc && !st.stop; i++) {
			int fd = STDIN_FILENO;
			if (strcmp(argv[i], "-") != 0) {
				fd = open(argv[i], O_RDONLY | O_CLOEXEC);
				if (fd < 0) {
					log_error("%s: %s", argv[i], strerror(errno));
					st.status = EXIT_NOINPUT;
					continue;
				}
				st.file = argv[i];
			}
			flush_pending(&st);
			run(&st, fd);
			flush_pending(&st);
			if (fd != STDIN_FILENO)
				close(fd);
			st.file = NULL;
		}
	}
	if (st.status != EXIT_PIPE)
		flush_pending(&st);
	if (st.o.test) {
		rc = test_report(&st);
		if (st.status == 0)
			st.status = rc;
	}
	flush(&st);
	if (reject_close(&st.rj) != 0 && st.status == 0) {
		log_error("%s: write error", st.o.reject);
		st.status = EXIT_IOERR;
	}
	if (log_verbosity() >= LOG_VERBOSE)
		stats(&st);
	if (fflush(stdout) != 0 && st.status == 0)
		st.status = EXIT_IOERR;
	cleanup(&st);
	return st.status;
}
