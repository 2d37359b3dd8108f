/*
 * fuzz-scan.c - libFuzzer target for the record scanner: any bytes as a
 * record line go through jscan, jscan_tape, scan_record and a compiled
 * selection, as anomaly-detect and webhook-send run them.  Nothing may
 * crash or read out of bounds, and jscan, jscan_tape and scan_record
 * (which guesses keys from the record before) must agree on what is
 * valid.  jansson is the independent referee: what it accepts,
 * jscan must accept (jscan leaves UTF-8 to the line reader and does not
 * bound numbers, so the converse does not hold), except for a NUL byte,
 * where jansson stops reading as at the end of the input.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "scan.h"
#include "select.h"
#include "yamlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
    "detection:\n"
    "  a: {source.ip|cidr: [10.0.0.0/8, 'fd00::/8'], event.outcome: failure}\n"
    "  b: [{user.name|re|i: '^r.*t$'}, {url.original|contains|all: [adm, '?']}]\n"
    "  c: {http.response.status_code|gte: 400, tags: [a, '*b*'], n|lt: 0}\n"
    "  d: {message|startswith: x, message|exists: true, z: null}\n"
    "  condition: (a or 1 of b*) and not c or all of them\n";

static struct ydoc doc;
static struct scan *sc;
static struct select *sel;

static void
setup(void)
{
	struct sl_err e;
	if (yamlcfg_load_string(&doc, "fuzz.yaml", rules, sizeof(rules) - 1, &e) != 0)
		abort();
	sc = scan_new();
	struct select_ctx cx = { .scan = sc, .doc = &doc };
	sel = select_detection(&cx, ymap_get(doc.root, "detection"), &e);
	if (sc == NULL || sel == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sval vals[64];
	struct jscan_member m[16];
	struct jscan_err e;
	size_t n;

	if (sel == NULL)
		setup();
	/* An exact-size copy, so a read past the end is caught. */
	char *line = malloc(size ? size : 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	char a = jscan(line, size, m, 16, &n, &e);
	char b = jscan_tape(line, size, m, 16, &n, &e);
	if (a != b)
		abort();
	json_error_t je;
	json_t *j = memchr(line, '\0', size) ? NULL :
	    json_loadb(line, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j != NULL && a == 0)
		abort();	/* jansson took it, jscan refused it */
	json_decref(j);
	/* The scanner keeps the last record's keys and guesses each key
	 * from them: a guess must never change what is valid. */
	int r = scan_record(sc, line, size, vals, &e);
	if ((r == 0) != (a == '{'))
		abort();
	if (r == 0)
		(void)select_match(sel, vals);
	free(line);
	return 0;
}
