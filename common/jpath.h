/*
 * jpath.h - dotted field paths (source.ip) on jansson objects.
 *
 * A path names nested objects: "source.ip" is {"source":{"ip":…}}.  Where a
 * producer wrote the dotted name as one flat key ({"source.ip":…}), that
 * key is found too: at each level the longest matching flat key wins over
 * descending.  References follow jansson's rules: jpath_get() returns a
 * borrowed reference; jpath_set() steals the value's.
 */
#ifndef SLUICE_JPATH_H
#define SLUICE_JPATH_H

#include <jansson.h>
#include <stddef.h>

/* The value at path, or NULL when some step is missing or not an object. */
json_t *jpath_get(json_t *root, const char *path);
json_t *jpath_getn(json_t *root, const char *path, size_t n);

/* Set path to value, creating intermediate objects.  Steals value.
 * Returns 0, or -1 when a step exists and is not an object (value is
 * released either way). */
int jpath_set(json_t *root, const char *path, json_t *value);

#endif
