/*
 * test-feed.c - unit tests of the record feed: which lines reach the
 * program, which are rejected with what reason, the counters, --strict.
 */
#include "feed.h"
#include "log.h"
#include "reject.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A feed reading text[0, n) from a pipe (written whole, then closed). */
static int
pipe_of(const char *text, size_t n)
{
	int fd[2];
	if (pipe(fd) != 0 || write(fd[1], text, n) != (ssize_t)n)
		abort();
	close(fd[1]);
	return fd[0];
}

/* Run the feed to its end; the lines it gave, joined with '|'. */
static enum feed_event
drain(struct feed *f, char *got, size_t size)
{
	enum feed_event ev;
	got[0] = '\0';
	while ((ev = feed_next(f)) != FEED_EOF && ev != FEED_STRICT && ev != FEED_ERROR) {
		if (ev != FEED_LINE)
			continue;
		size_t len = strlen(got);
		snprintf(got + len, size - len, "%s%.*s", len ? "|" : "", (int)f->rd.len,
		    f->rd.line);
	}
	return ev;
}

int
main(void)
{
	char tmpl[] = "/tmp/test-feed.XXXXXX", path[64], got[256];
	if (mkdtemp(tmpl) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/rej", tmpl);
	log_init("test-feed", LOG_QUIET);

	static const char text[] = "a\n\nb\r\nnul\0x\n\xff\xfe\n0123456789abcdefghij\nc";
	struct reject rj;
	struct sl_err e;
	struct feed f;
	is_int(reject_open(&rj, path, false, &e), 0, "a reject file opens");
	is_int(feed_init(&f, pipe_of(text, sizeof(text) - 1), 64, &rj), 0, "a feed starts");
	is_int(drain(&f, got, sizeof(got)), FEED_EOF, "the feed runs to the end of input");
	is_str(got, "a|b|0123456789abcdefghij|c", "only non-empty lines of UTF-8 without NUL reach the program");
	is_int((long long)f.lines, 7, "every line is counted");
	is_int((long long)f.empty, 1, "the empty line is counted apart");
	is_int((long long)f.rejected, 2, "the NUL and non-UTF-8 lines are rejected");
	is_int(feed_reject(&f, 9, "the program's own reason", "zz", 2), 0,
	    "the program rejects through the feed");
	is_int((long long)f.rejected, 3, "and the feed counts it");
	close(f.rd.fd);
	feed_free(&f);
	reject_close(&rj);

	FILE *in = fopen(path, "r");
	char buf[4096] = "";
	size_t n = in ? fread(buf, 1, sizeof(buf) - 1, in) : 0;
	buf[n] = '\0';
	if (in)
		fclose(in);
	ok(strstr(buf, "\"line\":4,\"error\":\"NUL byte in line\"") != NULL,
	    "a NUL line is rejected with its line number and reason");
	ok(strstr(buf, "\"line\":5,\"error\":\"not valid UTF-8\"") != NULL,
	    "a non-UTF-8 line likewise");
	ok(strstr(buf, "the program's own reason") != NULL, "and the program's reject is written");

	/* Lines over the limit are rejected whole; --strict stops at them. */
	static const char longs[] = "ok\n0123456789012345678901234567890123456789012345678901234567890123456789\nafter\n";
	is_int(reject_open(&rj, NULL, true, &e), 0, "a strict reject without a file");
	is_int(feed_init(&f, pipe_of(longs, sizeof(longs) - 1), 64, &rj), 0, "a feed with a 64-byte limit");
	is_int(drain(&f, got, sizeof(got)), FEED_STRICT, "--strict stops at the over-long line");
	is_str(got, "ok", "after giving the line before it");
	is_int((long long)f.rejected, 1, "the over-long line is counted as rejected");
	close(f.rd.fd);
	feed_free(&f);
	reject_close(&rj);

	unlink(path);
	rmdir(tmpl);
	return done();
}
