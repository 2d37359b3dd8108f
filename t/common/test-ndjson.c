/*
 * test-ndjson.c - unit tests of the line reader: line ends, read
 * boundaries, the line-length cap, NUL bytes, idle and timeout events.
 *
 * Most tests turn what the reader returns into a short transcript
 * ("1:a 2:bb EOF") and compare it with the expected one, so a failure shows
 * the whole sequence of events.  Data that must arrive in several reads is
 * written into a pipe piece by piece, reading until the reader says IDLE
 * between pieces: that fixes the read boundaries without any timing.
 */
#include "ndjson.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static void
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("write");
			exit(2);
		}
		c += w;
		n -= (size_t)w;
	}
}

/* An unlinked temporary file holding data, positioned at its start. */
static int
temp_fd(const void *data, size_t n)
{
	const char *dir = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/test-ndjson-XXXXXX",
	    dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	unlink(path);
	write_all(fd, data, n);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Append the event just returned to the transcript t:
 *   N:text   a line (bytes outside printable ASCII as \xHH)
 *   N~LEN+   a chunk of a long line, more to come
 *   N~LEN.   the last chunk of a long line
 *   IDLE TIMEOUT INTR EOF ERROR */
static void
note(char *t, size_t size, const struct ndjson_reader *r, enum ndjson_status st)
{
	size_t len = strlen(t);

	if (len > 0 && len + 1 < size)
		t[len++] = ' ';
	t[len] = '\0';
	switch (st) {
	case NDJSON_LINE:
		len += (size_t)snprintf(t + len, size - len, "%llu:",
		    (unsigned long long)r->lineno);
		for (size_t i = 0; i < r->len && len + 5 < size; i++) {
			unsigned char c = (unsigned char)r->line[i];
			if (c >= 0x20 && c < 0x7f)
				t[len++] = (char)c;
			else
				len += (size_t)snprintf(t + len, size - len, "\\x%02x", c);
		}
		t[len] = '\0';
		break;
	case NDJSON_LONG:
		snprintf(t + len, size - len, "%llu~%zu%c",
		    (unsigned long long)r->lineno, r->len, r->more ? '+' : '.');
		break;
	case NDJSON_IDLE: snprintf(t + len, size - len, "IDLE"); break;
	case NDJSON_TIMEOUT: snprintf(t + len, size - len, "TIMEOUT"); break;
	case NDJSON_INTR: snprintf(t + len, size - len, "INTR"); break;
	case NDJSON_EOF: snprintf(t + len, size - len, "EOF"); break;
	case NDJSON_ERROR: snprintf(t + len, size - len, "ERROR"); break;
	}
}

/* Read events into t until (and including) IDLE, TIMEOUT, EOF or ERROR. */
static const char *
drain(struct ndjson_reader *r, char *t, size_t size)
{
	enum ndjson_status st;

	t[0] = '\0';
	do {
		st = ndjson_next(r);
		note(t, size, r, st);
	} while (st == NDJSON_LINE || st == NDJSON_LONG || st == NDJSON_INTR);
	return t;
}

/* The whole transcript of reading data from a regular file. */
static const char *
read_file(const char *data, size_t n, size_t max_line)
{
	static char t[4096];
	struct ndjson_reader r;
	int fd = temp_fd(data, n);

	if (ndjson_init(&r, fd, max_line) != 0) {
		perror("ndjson_init");
		exit(2);
	}
	drain(&r, t, sizeof(t));
	ndjson_free(&r);
	close(fd);
	return t;
}

#define READ(lit, max) read_file((lit), sizeof(lit) - 1, (max))

static void
test_line_ends(void)
{
	is_str(READ("a\nbb\nccc\n", 0), "1:a 2:bb 3:ccc EOF",
	    "LF ends lines and is not part of them");
	is_str(READ("a\r\nbb\r\n", 0), "1:a 2:bb EOF",
	    "CRLF ends a line once, without an empty line after the CR");
	is_str(READ("a\rbb\r", 0), "1:a 2:bb EOF",
	    "a bare CR ends a line");
	is_str(READ("a\r\rb\n\nc", 0), "1:a 2: 3:b 4: 5:c EOF",
	    "CR CR and LF LF are two line ends each, giving empty lines");
	is_str(READ("\n\n\nx\n", 0), "1: 2: 3: 4:x EOF",
	    "empty lines are returned with length 0 and counted");
	is_str(READ("a\nlast", 0), "1:a 2:last EOF",
	    "a last line without a line end is still returned");
	is_str(READ("", 0), "EOF", "empty input gives EOF at once");
	is_str(READ("a\0b\n\0\n", 0), "1:a\\x00b 2:\\x00 EOF",
	    "NUL bytes inside lines are kept");
	is_str(READ("\xc3\xa9t\xc3\xa9\n", 0), "1:\\xc3\\xa9t\\xc3\\xa9 EOF",
	    "bytes above 0x7f pass through untouched");
}

static void
test_terminator(void)
{
	struct ndjson_reader r;
	static const char data[] = "first\nsecond\r\nthird";
	int fd = temp_fd(data, sizeof(data) - 1);
	bool all = true;

	ndjson_init(&r, fd, 0);
	while (ndjson_next(&r) == NDJSON_LINE)
		all = all && r.line[r.len] == '\0';
	ok(all, "every line returned is followed by a NUL byte");
	ok(ndjson_next(&r) == NDJSON_EOF, "EOF is returned again when asked again");
	ndjson_free(&r);
	close(fd);
}

static void
test_max_line(void)
{
	/* max_line 16 */
	is_str(READ("0123456789abcdef\nnext\n", 16), "1:0123456789abcdef 2:next EOF",
	    "a line exactly max_line long is accepted as a line");
	is_str(READ("0123456789abcdef", 16), "1:0123456789abcdef EOF",
	    "an unterminated last line exactly max_line long is accepted");
	is_str(READ("0123456789abcdefg\nnext\n", 16), "1~17. 2:next EOF",
	    "a line of max_line + 1 bytes is one last chunk, then the next line is line 2");
	is_str(READ("0123456789abcdefg\r\nnext\r\n", 16), "1~17. 2:next EOF",
	    "the CRLF after a long line is not part of its length");
	is_str(READ("0123456789abcdefghij", 16), "1~20+ 1~0. EOF",
	    "a long last line without a line end still gets a closing chunk");
	is_str(READ("ok\n0123456789abcdefghijklmnopqrstuvwxyz\n\nz\n", 16),
	    "1:ok 2~36. 3: 4:z EOF",
	    "line numbers go on after a long line");
}

/* A pipe that we feed piece by piece. */
struct feed {
	int rd, wr;
	struct ndjson_reader r;
	char t[4096];
};

static void
feed_open(struct feed *f, size_t max_line)
{
	int p[2];

	if (pipe(p) != 0) {
		perror("pipe");
		exit(2);
	}
	f->rd = p[0];
	f->wr = p[1];
	ndjson_init(&f->r, f->rd, max_line);
}

static const char *
feed(struct feed *f, const char *s)
{
	if (*s)
		write_all(f->wr, s, strlen(s));
	return drain(&f->r, f->t, sizeof(f->t));
}

static const char *
feed_close(struct feed *f)
{
	close(f->wr);
	f->wr = -1;
	return drain(&f->r, f->t, sizeof(f->t));
}

static void
feed_free(struct feed *f)
{
	if (f->wr >= 0)
		close(f->wr);
	close(f->rd);
	ndjson_free(&f->r);
}

static void
test_boundaries(void)
{
	struct feed f;

	feed_open(&f, 0);
	is_str(feed(&f, ""), "IDLE", "an empty pipe gives IDLE before any wait");
	is_str(feed(&f, "one\r"), "1:one IDLE",
	    "a CR at the end of a read ends the line at once");
	is_str(feed(&f, "\ntwo\n"), "2:two IDLE",
	    "the LF after that CR in the next read is skipped, not an empty line");
	is_str(feed(&f, "three\r"), "3:three IDLE", "a second CR at a read boundary ends line 3");
	is_str(feed(&f, "four\n"), "4:four IDLE",
	    "a CR at a read boundary followed by other text keeps that text");
	is_str(feed(&f, "fi"), "IDLE", "a partial line is held back");
	is_str(feed(&f, "ve\r"), "5:five IDLE", "a line split across reads is joined");
	is_str(feed_close(&f), "EOF", "a CR as the last byte before EOF makes no empty line");
	feed_free(&f);

	feed_open(&f, 16);
	is_str(feed(&f, "0123456789abcdef"), "IDLE",
	    "max_line bytes without a line end are not yet a long line");
	is_str(feed(&f, "\n"), "1:0123456789abcdef IDLE",
	    "a line exactly max_line long across reads is accepted");
	is_str(feed(&f, "0123456789"), "IDLE", "the start of a long line is held back");
	is_str(feed(&f, "0123456789"), "2~20+ IDLE",
	    "once past max_line without a line end the line is returned as a chunk");
	is_str(feed(&f, "0123456789\r"), "2~10. IDLE",
	    "the line end returns the last chunk of the long line");
	is_str(feed(&f, "\nnext\n"), "3:next IDLE",
	    "the LF of a CRLF after a long line is skipped and the next line is line 3");
	is_str(feed_close(&f), "EOF", "the pipe ends with EOF");
	feed_free(&f);
}

static void
test_long_total(void)
{
	struct feed f;
	uint64_t sum = 0;
	enum ndjson_status st;
	int chunks = 0;
	bool last_seen = false;

	feed_open(&f, 16);
	write_all(f.wr, "0123456789abcdefghij", 20);
	while ((st = ndjson_next(&f.r)) == NDJSON_LONG) {
		sum += f.r.len;
		chunks++;
	}
	write_all(f.wr, "0123456789", 10);
	while ((st = ndjson_next(&f.r)) == NDJSON_LONG) {
		sum += f.r.len;
		chunks++;
	}
	write_all(f.wr, "01234\nafter\n", 12);
	while ((st = ndjson_next(&f.r)) == NDJSON_LONG) {
		sum += f.r.len;
		chunks++;
		last_seen = !f.r.more;
		if (last_seen)
			break;
	}
	is_int(chunks, 3, "a long line fed in three reads comes as three chunks");
	is_int((long long)sum, 35, "the chunks' lengths sum to the line's length");
	is_int((long long)f.r.long_total, 35, "long_total counts the whole long line");
	ok(last_seen, "the last chunk says no more follow");
	st = ndjson_next(&f.r);
	ok(st == NDJSON_LINE && f.r.len == 5 && memcmp(f.r.line, "after", 5) == 0,
	    "the line after the long one is intact");
	is_int((long long)f.r.lineno, 2, "and it is line 2");
	feed_free(&f);
}

static char
pattern(uint64_t i)
{
	return (char)('a' + i % 26);
}

/* Read a 5 MiB line plus "after" from fd; report as tests named by how. */
static void
check_huge(int fd, const char *how)
{
	struct ndjson_reader r;
	enum ndjson_status st;
	uint64_t sum = 0;
	size_t longest = 0;
	int chunks = 0;
	bool same = true, numbered = true, last = false;

	ndjson_init(&r, fd, MIB);
	while ((st = ndjson_next(&r)) == NDJSON_LONG || st == NDJSON_IDLE) {
		if (st == NDJSON_IDLE)
			continue;
		for (size_t i = 0; i < r.len && same; i++)
			same = r.line[i] == pattern(sum + i);
		sum += r.len;
		chunks++;
		numbered = numbered && r.lineno == 1;
		if (r.len > longest)
			longest = r.len;
		if (!r.more) {
			last = true;
			break;
		}
	}
	ok(last, "%s: the 5 MiB line ends with a last chunk", how);
	is_int((long long)sum, 5 * MIB, "%s: its chunks add up to 5 MiB", how);
	is_int((long long)r.long_total, 5 * MIB, "%s: long_total says 5 MiB", how);
	ok(same, "%s: the chunks hold the line's bytes in order", how);
	ok(numbered, "%s: every chunk carries line number 1", how);
	ok(chunks >= 4 && longest <= MIB + 256 * 1024,
	    "%s: the line comes in %d chunks none over max_line plus a block (longest %zu)",
	    how, chunks, longest);
	while ((st = ndjson_next(&r)) == NDJSON_IDLE)
		;
	ok(st == NDJSON_LINE && r.len == 5 && memcmp(r.line, "after", 5) == 0 &&
	    r.lineno == 2, "%s: the next line is \"after\", line 2", how);
	while ((st = ndjson_next(&r)) == NDJSON_IDLE)
		;
	ok(st == NDJSON_EOF, "%s: then EOF", how);
	ndjson_free(&r);
}

static void
test_huge(void)
{
	size_t n = 5 * MIB;
	char *data = malloc(n + 7);

	if (data == NULL) {
		perror("malloc");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		data[i] = pattern(i);
	memcpy(data + n, "\nafter\n", 7);

	int fd = temp_fd(data, n + 7);
	check_huge(fd, "file");
	close(fd);

	/* The same through a pipe written in odd-sized pieces by a child. */
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		exit(2);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(p[0]);
		for (size_t off = 0, piece = 1; off < n + 7; piece = piece * 7 % 100003 + 1) {
			size_t k = piece < n + 7 - off ? piece : n + 7 - off;
			write_all(p[1], data + off, k);
			off += k;
		}
		_exit(0);
	}
	close(p[1]);
	check_huge(p[0], "pipe");
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	free(data);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
test_idle(void)
{
	struct feed f;

	feed_open(&f, 0);
	write_all(f.wr, "x\n", 2);
	ok(ndjson_next(&f.r) == NDJSON_LINE && f.r.len == 1 && f.r.line[0] == 'x',
	    "a line written into a pipe is read");
	double t0 = now_ms();
	ok(ndjson_next(&f.r) == NDJSON_IDLE,
	    "with the writer open and no data ready the next call gives IDLE");
	ok(now_ms() - t0 < 1000, "IDLE comes without waiting");
	f.r.timeout_ms = 50;
	t0 = now_ms();
	ok(ndjson_next(&f.r) == NDJSON_TIMEOUT,
	    "after IDLE, timeout_ms 50 without data gives TIMEOUT");
	double waited = now_ms() - t0;
	ok(waited >= 45 && waited < 10000, "TIMEOUT came after about 50 ms (%.0f ms)", waited);
	is_str(feed(&f, "y\n"), "2:y IDLE",
	    "data after a TIMEOUT is read as the next line, then IDLE again");
	is_str(feed_close(&f), "EOF", "closing the writer gives EOF");
	feed_free(&f);
}

static void
test_reset(void)
{
	struct ndjson_reader r;
	int a = temp_fd("a1\na2\n", 6), b = temp_fd("b1\n", 3);
	char t[256];

	ndjson_init(&r, a, 0);
	drain(&r, t, sizeof(t));
	ndjson_reset(&r, b);
	is_str(drain(&r, t, sizeof(t)), "1:b1 EOF",
	    "after ndjson_reset the next file's lines are numbered from 1");
	ndjson_free(&r);
	close(a);
	close(b);
}

/* ndjson_reader.plain: true only for a line of ASCII without NUL, and
 * true for every such line found in one search.  Lines of every length
 * up to 200, each with one byte (a NUL, a byte over 0x7f, or a tab or
 * form feed, which are plain) at a place that goes through every place
 * up to 70 and every 7th after it, or with none, each with one of the
 * three line ends: read from one file in one read (a buffer larger than
 * the file: plain must equal clean), then through a pipe in pieces of 1
 * to 97 bytes (lines cut by reads may say "not known", never a wrong
 * "plain"). */
static void
test_plain(void)
{
	static const char *const ends[] = { "\n", "\r\n", "\r" };
	/* The last two are plain: control bytes that still stop the fast
	 * steps. */
	static const unsigned char odd[] = { 0x00, 0x80, 0xe9, 0xff, 0x09, 0x0c };
	size_t cap = 4 * MIB, n = 0, nlines = 0;
	char *data = malloc(cap);
	unsigned char *clean = malloc(cap / 2);
	unsigned long seed = 11;
	if (data == NULL || clean == NULL)
		exit(2);
	for (size_t len = 0; len <= 200; len++)
		for (size_t at = 0; at <= len; at += at < 70 ? 1 : 7) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			for (size_t i = 0; i < len; i++)
				data[n + i] = (char)('a' + (i + len) % 26);
			unsigned char o = odd[(seed >> 33) % sizeof(odd)];
			if (at < len)
				data[n + at] = (char)o;
			n += len;
			const char *e = ends[(seed >> 40) % 3];
			memcpy(data + n, e, strlen(e));
			n += strlen(e);
			clean[nlines++] = at == len || o == 0x09 || o == 0x0c;
		}
	for (int way = 0; way < 2; way++) {
		struct ndjson_reader r;
		int p[2] = { -1, -1 }, fd;
		pid_t pid = -1;
		if (way == 0) {
			fd = temp_fd(data, n);
		} else {
			if (pipe(p) != 0 || (pid = fork()) < 0)
				exit(2);
			if (pid == 0) {
				close(p[0]);
				for (size_t off = 0, k = 1; off < n; off += k, k = k % 97 + 1)
					write_all(p[1], data + off, off + k <= n ? k : n - off);
				_exit(0);
			}
			close(p[1]);
			fd = p[0];
		}
		ndjson_init(&r, fd, 4 * MIB);	/* the file (1.6 MB) in one read */
		r.timeout_ms = -1;
		size_t line = 0, wrong = 0, plain = 0;
		enum ndjson_status st;
		while ((st = ndjson_next(&r)) != NDJSON_EOF && st != NDJSON_ERROR) {
			if (st != NDJSON_LINE)
				continue;
			bool ok_line = line < nlines &&
			    (way == 1 ? !r.plain || clean[line] : r.plain == clean[line]);
			if (!ok_line && wrong++ < 5)
				fprintf(stderr, "#   way %d, line %zu: plain %d, clean %d\n", way,
				    line + 1, r.plain, line < nlines ? clean[line] : -1);
			plain += r.plain;
			line++;
		}
		ok(wrong == 0 && line == nlines,
		    "plain is right for %zu lines (%zu of them said plain), %s", line, plain,
		    way == 0 ? "one read" : "through a pipe in small pieces");
		ndjson_free(&r);
		close(fd);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	free(data);
	free(clean);
}

int
main(void)
{
	/* A reader that blocks where it should say IDLE would hang the suite:
	 * let it die instead, which the runner reports as a failure. */
	alarm(60);
	test_line_ends();
	test_terminator();
	test_max_line();
	test_boundaries();
	test_long_total();
	test_huge();
	test_idle();
	test_reset();
	test_plain();
	return done();
}
