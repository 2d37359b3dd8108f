/*
 * log.c - stderr diagnostics and the rate limiter for per-record warnings.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *program = "sluice";
static int verbosity;

int
err_set(struct sl_err *e, const char *file, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
	e->line = line;
	e->col = col;
	return -1;
}

void
err_where(const struct sl_err *e, char *out, unsigned long size)
{
	if (e->file[0] && e->line)
		snprintf(out, size, "%s:%u:%u: %s", e->file, e->line,
		    e->col ? e->col : 1, e->msg);
	else if (e->file[0])
		snprintf(out, size, "%s: %s", e->file, e->msg);
	else
		snprintf(out, size, "%s", e->msg);
}

void
log_init(const char *name, int v)
{
	const char *slash = strrchr(name, '/');
	program = slash ? slash + 1 : name;
	verbosity = v;
}

const char *
log_program(void)
{
	return program;
}

int
log_verbosity(void)
{
	return verbosity;
}

static void
vlog(const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s: ", program);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One fputs of the whole line, so concurrent writers do not interleave. */
	size_t len = strlen(line);
	if (len + 1 < sizeof(line)) {
		line[len] = '\n';
		line[len + 1] = '\0';
	}
	fputs(line, stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
log_err(const struct sl_err *e)
{
	char buf[1024];
	err_where(e, buf, sizeof(buf));
	log_error("%s", buf);
}

void
log_limited(struct log_limit *l, const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	if (verbosity < LOG_NORMAL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec >= l->window + (int64_t)l->period_s) {
		l->window = ts.tv_sec;
		l->used = 0;
	}
	if (l->used >= l->burst) {
		l->held++;
		return;
	}
	l->used++;
	if (l->held) {
		log_warn("(%llu similar warnings held back)",
		    (unsigned long long)l->held);
		l->held = 0;
	}
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
