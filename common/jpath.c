/*
 * jpath.c - dotted-path lookup and assignment on jansson trees.
 */
#include "jpath.h"

#include <string.h>

json_t *
jpath_getn(json_t *root, const char *path, size_t n)
{
	json_t *cur = root;
	size_t i = 0;

	while (cur != NULL && json_is_object(cur)) {
		/* Try the whole rest as one key first (flat dotted keys), then
		 * the longest prefixes ending before a dot. */
		json_t *v = json_object_getn(cur, path + i, n - i);
		if (v != NULL)
			return v;
		size_t j = n;
		json_t *next = NULL;
		while (j > i) {
			while (j > i && path[j - 1] != '.')
				j--;
			if (j <= i)
				break;
			next = json_object_getn(cur, path + i, j - 1 - i);
			if (next != NULL)
				break;
			j--;
		}
		if (next == NULL)
			return NULL;
		cur = next;
		i = j;
	}
	return NULL;
}

json_t *
jpath_get(json_t *root, const char *path)
{
	return jpath_getn(root, path, strlen(path));
}

int
jpath_set(json_t *root, const char *path, json_t *value)
{
	json_t *cur = root;
	const char *p = path, *dot;

	if (!json_is_object(root)) {
		json_decref(value);
		return -1;
	}
	while ((dot = strchr(p, '.')) != NULL) {
		json_t *next = json_object_getn(cur, p, (size_t)(dot - p));
		if (next == NULL) {
			next = json_object();
			if (next == NULL ||
			    json_object_setn_new(cur, p, (size_t)(dot - p), next) != 0) {
				json_decref(value);
				return -1;
			}
		} else if (!json_is_object(next)) {
			json_decref(value);
			return -1;
		}
		cur = next;
		p = dot + 1;
	}
	return json_object_set_new(cur, p, value);
}
