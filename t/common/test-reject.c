/*
 * test-reject.c - unit tests of the reject file: raw or raw_b64 by content,
 * long lines streamed in chunks, counts, --strict, reopening.
 *
 * Files go to a fresh directory under $TMPDIR (or /tmp), removed at the end.
 */
#include "b64.h"
#include "log.h"
#include "reject.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512];

static const char *
in_dir(const char *name)
{
	static char path[2][600];
	static int which;

	which = !which;
	snprintf(path[which], sizeof(path[which]), "%s/%s", dir, name);
	return path[which];
}

/* The records of a reject file, parsed; NULL when a line is not JSON. */
struct records {
	json_t *rec[16];
	size_t n;
	bool all_json;
};

static void
load(const char *path, struct records *r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memset(r, 0, sizeof(*r));
	r->all_json = true;
	if (f == NULL)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *v = json_loadb(line, (size_t)len, 0, &je);
		if (v == NULL) {
			r->all_json = false;
			fprintf(stderr, "#   %s: %s\n", path, je.text);
		}
		if (r->n < sizeof(r->rec) / sizeof(r->rec[0]))
			r->rec[r->n++] = v;
		else
			json_decref(v);
	}
	free(line);
	fclose(f);
}

static void
unload(struct records *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->rec[i]);
}

static json_t *
field(json_t *rec, const char *name)
{
	return json_object_get(json_object_get(rec, "reject"), name);
}

/* The bytes a record's raw_b64 decodes to; *n their count, or -1. */
static unsigned char *
decoded(json_t *rec, long *n)
{
	const char *s = json_string_value(field(rec, "raw_b64"));
	size_t len = s ? strlen(s) : 0;
	unsigned char *out = malloc(len / 4 * 3 + 1);

	*n = s ? b64_decode(out, s, len) : -1;
	return out;
}

/* Run f with stderr sent to /dev/null (for --strict's error message). */
static int
quietly(int (*f)(struct reject *), struct reject *rj)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	fflush(stderr);
	dup2(null, 2);
	int rc = f(rj);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(null);
	return rc;
}

static int
strict_line(struct reject *rj)
{
	return reject_line(rj, 9, "not JSON", "{", 1);
}

static int
strict_long(struct reject *rj)
{
	reject_long_begin(rj, 10, "line too long");
	reject_long_chunk(rj, "abcd", 4);
	return reject_long_end(rj, 4);
}

#define LONG_LEN (200 * 1024 + 1)

static void
test_file(void)
{
	struct reject rj;
	struct sl_err e;
	const char *path = in_dir("rejects.ndjson");
	static const char utf8[] = "h\xc3\xa9llo \"w\xc3\xb6rld\" \\ \x01";
	static const char bad[] = "caf\xe9 \xff";
	static const char nul[] = "a\0b";
	struct stat st;

	is_int(reject_open(&rj, path, false, &e), 0, "a reject file in a writable directory opens");
	is_int(reject_line(&rj, 3, "not JSON", utf8, sizeof(utf8) - 1), 0,
	    "rejecting a UTF-8 line says go on");
	ok(stat(path, &st) == 0 && st.st_size == 0, "a reject record is buffered, not written at once");
	is_int(reject_flush(&rj), 0, "reject_flush succeeds");
	ok(stat(path, &st) == 0 && st.st_size > 0, "reject_flush writes the buffered record");
	is_int(reject_line(&rj, 4, "invalid UTF-8", bad, sizeof(bad) - 1), 0,
	    "rejecting a line that is not UTF-8 says go on");
	is_int(reject_line(&rj, 5, "not JSON", nul, sizeof(nul) - 1), 0,
	    "rejecting a line holding NUL says go on");

	/* A long line in chunks of awkward sizes: single bytes that leave
	 * partial base64 groups, and pieces past the writer's flush mark. */
	unsigned char *big = malloc(LONG_LEN);
	for (size_t i = 0; i < LONG_LEN; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	static const size_t sizes[] = { 1, 1, 2, 1, 1, 1, 4, 5, 3, 7, 1, 65537, 2, 1, 100000 };
	size_t off = 0;
	reject_long_begin(&rj, 6, "line too long");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		reject_long_chunk(&rj, (const char *)big + off, sizes[i]);
		off += sizes[i];
	}
	reject_long_chunk(&rj, (const char *)big + off, LONG_LEN - off);
	is_int(reject_long_end(&rj, LONG_LEN), 0, "rejecting a long line says go on");
	is_int(reject_line(&rj, 7, "not JSON", "after", 5), 0, "a line after the long one is rejected too");
	is_int((long long)rj.count, 5, "five rejects are counted");
	is_int(reject_close(&rj), 0, "reject_close succeeds");

	struct records r;
	load(path, &r);
	is_int((long long)r.n, 5, "the reject file holds one line per reject");
	ok(r.all_json, "every line of the reject file parses as JSON");
	bool shape = r.n == 5;
	static const long long lines[] = { 3, 4, 5, 6, 7 };
	for (size_t i = 0; i < r.n && i < 5; i++) {
		json_t *rj_ = json_object_get(r.rec[i], "reject");
		shape = shape && json_object_size(r.rec[i]) == 1 && json_is_object(rj_) &&
		    json_is_string(field(r.rec[i], "program")) &&
		    strcmp(json_string_value(field(r.rec[i], "program")), "test-reject") == 0 &&
		    json_integer_value(field(r.rec[i], "line")) == lines[i] &&
		    json_is_string(field(r.rec[i], "error"));
	}
	ok(shape, "each record is {\"reject\":{…}} with program, line and error");
	if (r.n == 5) {
		is_str(json_string_value(field(r.rec[0], "error")), "not JSON",
		    "the error is the reason given");
		json_t *raw = field(r.rec[0], "raw");
		is_mem(json_string_value(raw), json_string_length(raw), utf8, sizeof(utf8) - 1,
		    "a UTF-8 line is kept as \"raw\", byte for byte");
		ok(field(r.rec[0], "raw_b64") == NULL, "and has no raw_b64");

		long n;
		unsigned char *d = decoded(r.rec[1], &n);
		ok(field(r.rec[1], "raw") == NULL && n >= 0 &&
		    (size_t)n == sizeof(bad) - 1 && memcmp(d, bad, (size_t)n) == 0,
		    "a line that is not UTF-8 is kept as raw_b64 that decodes to its bytes");
		free(d);
		d = decoded(r.rec[2], &n);
		ok(field(r.rec[2], "raw") == NULL && n == 3 && memcmp(d, nul, 3) == 0,
		    "a line holding NUL is kept as raw_b64 that decodes to its bytes");
		free(d);
		d = decoded(r.rec[3], &n);
		is_int(n, LONG_LEN, "a long line's raw_b64 decodes to as many bytes as it had");
		ok(n == LONG_LEN && memcmp(d, big, LONG_LEN) == 0,
		    "and to exactly its bytes, however the chunks fell");
		free(d);
		is_int(json_integer_value(field(r.rec[3], "bytes")), LONG_LEN,
		    "a long line's record says how many bytes it had");
		is_str(json_string_value(field(r.rec[3], "error")), "line too long",
		    "a long line's record gives its reason");
		is_str(json_string_value(field(r.rec[4], "raw")), "after",
		    "the record after a long one is whole");
	}
	unload(&r);
	free(big);
	unlink(path);
}

static void
test_strict(void)
{
	struct reject rj;
	struct sl_err e;
	const char *path = in_dir("strict.ndjson");

	reject_open(&rj, path, true, &e);
	is_int(quietly(strict_line, &rj), -1, "with --strict a rejected line says stop");
	is_int(quietly(strict_long, &rj), -1, "with --strict a rejected long line says stop");
	is_int((long long)rj.count, 2, "strict rejects are counted");
	reject_close(&rj);

	struct records r;
	load(path, &r);
	ok(r.n == 2 && r.all_json, "strict rejects are still written to the reject file");
	unload(&r);
	unlink(path);
}

static void
test_no_file(void)
{
	struct reject rj;
	struct sl_err e;

	is_int(reject_open(&rj, NULL, false, &e), 0, "without --reject there is nothing to open");
	is_int(reject_line(&rj, 1, "not JSON", "x", 1), 0, "without a file a reject says go on");
	reject_long_begin(&rj, 2, "line too long");
	reject_long_chunk(&rj, "abc", 3);
	is_int(reject_long_end(&rj, 3), 0, "without a file a long reject says go on");
	is_int((long long)rj.count, 2, "rejects without a file are counted");
	is_int(reject_flush(&rj), 0, "flushing without a file succeeds");
	is_int(reject_close(&rj), 0, "closing without a file succeeds");

	memset(&e, 0, sizeof(e));
	const char *nowhere = in_dir("no/such/dir/rejects");
	is_int(reject_open(&rj, nowhere, false, &e), -1,
	    "a reject file in a missing directory cannot be opened");
	is_str(e.file, nowhere, "the error names the file");
	ok(strncmp(e.msg, "cannot open reject file: ", 25) == 0 && strlen(e.msg) > 25,
	    "the error says what failed and why (%s)", e.msg);
	reject_close(&rj);
}

static int
strict_long_steps(struct reject *rj)
{
	bool open = false;

	if (reject_long_step(rj, &open, 11, "line too long", "ab", 2, true, 2) != 0 || !open)
		return 99;
	return reject_long_step(rj, &open, 11, "line too long", "cd", 2, false, 4);
}

static void
test_long_step(void)
{
	struct reject rj;
	struct sl_err e;
	bool open = false;
	const char *path = in_dir("steps.ndjson");

	reject_open(&rj, path, false, &e);
	is_int(reject_long_step(&rj, &open, 4, "line too long", "xy", 2, true, 2), 0,
	    "reject_long_step: a first chunk says go on");
	ok(open, "  and leaves the line open");
	is_int(reject_long_step(&rj, &open, 4, "line too long", "z", 1, false, 3), 0,
	    "  the last chunk says go on");
	ok(!open, "  and closes the line");
	is_int(reject_long_step(&rj, &open, 5, "line too long", "one", 3, false, 3), 0,
	    "a line in one chunk begins and ends in one step");
	reject_close(&rj);

	struct records r;
	load(path, &r);
	ok(r.n == 2 && json_integer_value(field(r.rec[0], "line")) == 4 &&
	    json_integer_value(field(r.rec[0], "bytes")) == 3 &&
	    json_integer_value(field(r.rec[1], "line")) == 5,
	    "each long line is one record with its number and length");
	if (r.n >= 1) {
		long n;
		unsigned char *b = decoded(r.rec[0], &n);
		is_mem(b, n < 0 ? 0 : (size_t)n, "xyz", 3, "  and its bytes, all chunks joined");
		free(b);
	}
	unload(&r);
	unlink(path);

	reject_open(&rj, path, true, &e);
	is_int(quietly(strict_long_steps, &rj), -1,
	    "with --strict the step that ends a long line says stop");
	reject_close(&rj);
	unlink(path);
}

static void
test_reopen(void)
{
	struct reject rj;
	struct sl_err e;
	char old[600];
	const char *path = in_dir("rotated.ndjson");

	snprintf(old, sizeof(old), "%s.1", path);
	reject_open(&rj, path, false, &e);
	reject_line(&rj, 1, "before", "a", 1);
	rename(path, old);
	reject_line(&rj, 2, "before", "b", 1);
	is_int(reject_reopen(&rj, &e), 0, "reject_reopen opens the file again after it was moved");
	reject_line(&rj, 3, "after", "c", 1);
	reject_close(&rj);

	struct records r;
	load(old, &r);
	ok(r.n == 2 && json_integer_value(field(r.rec[1], "line")) == 2,
	    "records from before the reopen went to the moved file");
	unload(&r);
	load(path, &r);
	ok(r.n == 1 && json_integer_value(field(r.rec[0], "line")) == 3,
	    "records from after the reopen go to a new file at the path");
	unload(&r);
	unlink(old);
	unlink(path);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init("test-reject", LOG_QUIET);
	snprintf(dir, sizeof(dir), "%s/test-reject-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_file();
	test_strict();
	test_no_file();
	test_reopen();
	test_long_step();
	rmdir(dir);
	return done();
}
