/*
 * scan.h - the fields a compiled program reads, taken from a record's raw
 * JSON in one validating pass.
 *
 * A filter that decides on a few fields of each record should not build a
 * tree of the whole record.  Programs register the dotted paths they will
 * read (each gets a slot number) once, at compile time; scan_record() then
 * validates the line with jscan, walks only the members whose names lead
 * to a registered path, and fills one struct sval per slot.  Values point
 * into the line, except strings that hold escapes, which are decoded into
 * the scan's own buffer (valid until the next scan_record()).
 *
 * A path "source.ip" finds {"source":{"ip":…}} and the flat key
 * {"source.ip":…} alike; when a record has both, the first in the text
 * wins.
 */
#ifndef SLUICE_SCAN_H
#define SLUICE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jscan.h"

/* One field of one record.  type: 0 when the record lacks it, else the
 * JSON type character ('"' string, '0' number, 't' 'f' 'n' literals, '{'
 * '[' containers).  For a string, p/len is its decoded text; for every
 * other type, its JSON text. */
struct sval {
	const char *p;
	size_t len;
	char type;
	/* What the matcher derives from the value (select.c), worked out on
	 * first use and kept for the rest of the record: one lower-casing,
	 * number parse and address parse per field, however many rules ask.
	 * scan_record() clears `known`. */
	uint8_t known;		/* SVAL_* bits: worked out */
	uint8_t is;		/* SVAL_NUM, SVAL_IP: the value is one */
	uint8_t fam;		/* SVAL_IP: 4 or 6 */
	const char *lower;	/* SVAL_LOWER: the text lower-cased (ASCII) */
	double num;		/* SVAL_NUM */
	uint8_t ip[16];		/* SVAL_IP */
};

enum { SVAL_LOWER = 1, SVAL_NUM = 2, SVAL_IP = 4 };

struct scan;

struct scan *scan_new(void);
void scan_free(struct scan *sc);

/* The slot of path (registering it if new), or -1 when out of memory or
 * the path is empty or has an empty step. */
int scan_path(struct scan *sc, const char *path);

/* Number of slots registered; a caller sizes its sval array by it. */
size_t scan_slots(const struct scan *sc);

/* Validate line[0, n) as one JSON object and fill vals[0, scan_slots()).
 * Returns 0, or -1 with e set (not JSON, not an object). */
int scan_record(struct scan *sc, const char *line, size_t n, struct sval *vals,
    struct jscan_err *e);

/* Where a number that changes with every scan_record() is kept: what a
 * caller caches about "the current record" is keyed by it.  Never 0. */
const uint64_t *scan_gen(const struct scan *sc);

/* n bytes of scratch memory that live until the next scan_record(), for
 * text derived from the record's fields (the lower-cased copies); NULL
 * when the record's share (its own length) is used up. */
char *scan_scratch(struct scan *sc, size_t n);

/* The elements of a validated JSON array text, one per call: set *v to
 * the element at *pos (start with *pos = 0) and advance it.  A string
 * with escapes is decoded into buf when it fits in cap bytes, and left as
 * written otherwise.  Returns false after the last element. */
bool scan_element(const char *arr, size_t n, size_t *pos, struct sval *v,
    char *buf, size_t cap);

#endif
