/*
 * window.c - open addressing (linear probing) of keys to rings of stamps.
 *
 * Deleting from a linear-probing table needs tombstones or shifting; we
 * need neither, because keys are only ever dropped in bulk: a sweep moves
 * the live keys into a fresh table sized for them and frees the rest.  A
 * sweep runs when the table fills to 3/4, and at most once per window of
 * time otherwise, so its cost is spread over at least one window's keys.
 */
#include "window.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_SLOTS 64

static inline int64_t *
stamps(struct wkey *k)
{
	return k->ring != NULL ? k->ring : &k->one;
}

/* The i-th oldest stamp of k. */
static inline int64_t *
at(struct wkey *k, uint32_t i)
{
	return &stamps(k)[(k->head + i) & (k->cap - 1)];
}

static inline bool
live(const struct wkey *k, int64_t now, int64_t w)
{
	if (k->n == 0)
		return false;
	const int64_t *s = k->ring != NULL ? k->ring : &k->one;
	return s[(k->head + k->n - 1) & (k->cap - 1)] > now - w;
}

int
window_init(struct window *win, uint32_t limit, int64_t window_us)
{
	assert(limit >= 1 && window_us >= 1);
	memset(win, 0, sizeof(*win));
	win->limit = limit;
	win->w = window_us;
	win->slot = calloc(MIN_SLOTS, sizeof(*win->slot));
	if (win->slot == NULL)
		return -1;
	win->mask = MIN_SLOTS - 1;
	win->now = win->swept = INT64_MIN / 2;
	return 0;
}

void
window_free(struct window *win)
{
	if (win->slot != NULL)
		for (size_t i = 0; i <= win->mask; i++)
			free(win->slot[i].ring);
	free(win->slot);
	memset(win, 0, sizeof(*win));
}

static struct wkey *
probe(struct wkey *slot, size_t mask, uint64_t h0, uint64_t h1)
{
	for (size_t i = h0 & mask;; i = (i + 1) & mask) {
		struct wkey *k = &slot[i];
		if ((k->h0 == h0 && k->h1 == h1) || (k->h0 == 0 && k->h1 == 0))
			return k;
	}
}

/* Move the live keys into a table of at least twice their number. */
static int
sweep(struct window *win)
{
	size_t nlive = 0, size = MIN_SLOTS;

	for (size_t i = 0; i <= win->mask; i++)
		nlive += live(&win->slot[i], win->now, win->w);
	while (size < nlive * 2 + 2)
		size *= 2;
	struct wkey *fresh = calloc(size, sizeof(*fresh));
	if (fresh == NULL)
		return -1;
	for (size_t i = 0; i <= win->mask; i++) {
		struct wkey *k = &win->slot[i];
		if (k->h0 == 0 && k->h1 == 0)
			continue;
		if (!live(k, win->now, win->w)) {
			free(k->ring);
			win->dropped++;
			continue;
		}
		*probe(fresh, size - 1, k->h0, k->h1) = *k;
	}
	free(win->slot);
	win->slot = fresh;
	win->mask = size - 1;
	win->used = nlive;
	win->swept = win->now;
	return 0;
}

/* Make room for n + 1 stamps in k (n < limit), unrolling the ring. */
static int
grow(struct wkey *k)
{
	uint32_t cap = k->cap * 2;
	int64_t *ring = malloc((size_t)cap * sizeof(*ring));
	if (ring == NULL)
		return -1;
	for (uint32_t i = 0; i < k->n; i++)
		ring[i] = *at(k, i);
	free(k->ring);
	k->ring = ring;
	k->cap = cap;
	k->head = 0;
	return 0;
}

int
window_decide(struct window *win, struct hash128 h, int64_t t,
    struct window_result *r)
{
	if (h.lo == 0 && h.hi == 0)
		h.lo = 1;	/* (0, 0) marks an empty slot */
	if (t > win->now)
		win->now = t;
	if (win->now - win->swept >= win->w && win->used > MIN_SLOTS / 4 &&
	    sweep(win) != 0)
		return -1;

	struct wkey *k = probe(win->slot, win->mask, h.lo, h.hi);
	if (k->h0 == 0 && k->h1 == 0) {
		if ((win->used + 1) * 4 > (win->mask + 1) * 3) {
			if (sweep(win) != 0)
				return -1;
			k = probe(win->slot, win->mask, h.lo, h.hi);
		}
		k->h0 = h.lo;
		k->h1 = h.hi;
		k->cap = 1;
		win->used++;
	}

	int64_t lo = t - win->w;
	while (k->n > 0 && *at(k, 0) <= lo) {
		k->head = (k->head + 1) & (k->cap - 1);
		k->n--;
	}
	if (k->n >= win->limit) {
		assert(k->n == win->limit);
		r->allowed = false;
		r->count = k->n;
		r->retry_us = *at(k, k->n - win->limit) + win->w - t;
		assert(r->retry_us > 0);
		return 0;
	}
	if (k->n == k->cap && grow(k) != 0)
		return -1;
	/* Insert in order: stamps nearly always come in order, so this is
	 * one comparison. */
	uint32_t i = k->n;
	while (i > 0 && *at(k, i - 1) > t) {
		*at(k, i) = *at(k, i - 1);
		i--;
	}
	*at(k, i) = t;
	k->n++;
	r->allowed = true;
	r->count = k->n;
	r->retry_us = 0;
	return 0;
}

/* --- --state ------------------------------------------------------------ */

#define STATE_MAGIC "sluice rate-gate state"

static json_t *
key_json(struct wkey *k)
{
	char hex[33];
	json_t *a = json_array(), *o;

	snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)k->h0,
	    (unsigned long long)k->h1);
	for (uint32_t i = 0; a != NULL && i < k->n; i++)
		if (json_array_append_new(a, json_integer(*at(k, i))) != 0) {
			json_decref(a);
			return NULL;
		}
	o = json_pack("[so]", hex, a);
	return o;
}

int
window_save(const struct window *win, const char *path, const char *clock,
    struct sl_err *e)
{
	json_t *keys = json_array();
	json_t *root = json_pack("{s:s, s:i, s:s, s:I, s:I, s:o}", "format", STATE_MAGIC,
	    "version", 1, "clock", clock, "window_us", (json_int_t)win->w,
	    "limit", (json_int_t)win->limit, "keys", keys);
	char tmp[4096];
	int fd = -1;

	if (root == NULL)
		return err_set(e, path, 0, 0, "out of memory");
	for (size_t i = 0; i <= win->mask; i++) {
		struct wkey *k = &win->slot[i];
		if (!live(k, win->now, win->w))
			continue;
		json_t *kj = key_json(k);
		if (kj == NULL || json_array_append_new(keys, kj) != 0) {
			json_decref(root);
			return err_set(e, path, 0, 0, "out of memory");
		}
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		json_decref(root);
		return err_set(e, path, 0, 0, "path too long");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		json_decref(root);
		return err_set(e, tmp, 0, 0, "%s", strerror(errno));
	}
	int rc = json_dumpfd(root, fd, JSON_COMPACT);
	json_decref(root);
	if (rc != 0 || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return err_set(e, tmp, 0, 0, "write error: %s", strerror(err));
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int err = errno;
		unlink(tmp);
		return err_set(e, path, 0, 0, "%s", strerror(err));
	}
	/* Make the rename itself durable. */
	char dir[4096];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int
parse_hex64(const char *s, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 16; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

/* One key of the file into the table. */
static int
load_key(struct window *win, json_t *kj, int64_t now, bool wall, struct sl_err *e,
    const char *path)
{
	const char *hex;
	json_t *arr;
	uint64_t h0, h1;

	if (json_unpack(kj, "[so]", &hex, &arr) != 0 || strlen(hex) != 32 ||
	    parse_hex64(hex, &h0) != 0 || parse_hex64(hex + 16, &h1) != 0 ||
	    !json_is_array(arr) || (h0 == 0 && h1 == 0))
		return err_set(e, path, 0, 0, "not a rate-gate state file (bad key entry)");
	size_t n = json_array_size(arr), m = 0;
	int64_t *t = malloc((n ? n : 1) * sizeof(*t));
	if (t == NULL)
		return err_set(e, path, 0, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_integer(v)) {
			free(t);
			return err_set(e, path, 0, 0, "not a rate-gate state file (bad stamp)");
		}
		int64_t s = json_integer_value(v);
		if (!wall || s > now - win->w)
			t[m++] = s;
	}
	qsort(t, m, sizeof(*t), cmp_i64);
	size_t from = m > win->limit ? m - win->limit : 0;
	struct window_result r;
	struct hash128 h = { h0, h1 };
	for (size_t i = from; i < m; i++)
		if (window_decide(win, h, t[i], &r) != 0) {
			free(t);
			return err_set(e, path, 0, 0, "out of memory");
		}
	free(t);
	return 0;
}

int
window_load(struct window *win, const char *path, const char *clock,
    int64_t now, struct sl_err *e)
{
	json_error_t je;
	json_t *root, *keys;
	const char *fmt = NULL, *clk = NULL;
	int version = 0;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	root = json_load_file(path, 0, &je);
	if (root == NULL)
		return err_set(e, path, (unsigned)je.line, (unsigned)je.column, "%s", je.text);
	if (json_unpack(root, "{s:s, s:i, s:s, s:o}", "format", &fmt, "version", &version,
	    "clock", &clk, "keys", &keys) != 0 || strcmp(fmt, STATE_MAGIC) != 0 ||
	    !json_is_array(keys)) {
		json_decref(root);
		return err_set(e, path, 0, 0, "not a rate-gate state file");
	}
	if (version != 1) {
		err_set(e, path, 0, 0, "state file version %d is not known", version);
		json_decref(root);
		return -1;
	}
	if (strcmp(clk, clock) != 0) {
		err_set(e, path, 0, 0, "state file was written under --clock %s", clk);
		json_decref(root);
		return -1;
	}
	bool wall = strcmp(clock, "wall") == 0;
	size_t i;
	json_t *kj;
	json_array_foreach(keys, i, kj) {
		if (load_key(win, kj, now, wall, e, path) != 0) {
			/* Start empty rather than half loaded. */
			uint32_t limit = win->limit;
			int64_t w = win->w;
			json_decref(root);
			window_free(win);
			if (window_init(win, limit, w) != 0)
				return err_set(e, path, 0, 0, "out of memory");
			return -1;
		}
	}
	json_decref(root);
	return 1;
}
