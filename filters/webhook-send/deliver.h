/*
 * deliver.h - deliveries on libcurl's multi interface.
 *
 * The deliverer owns every delivery from the moment a record matches a
 * webhook until the delivery's final attempt is written.  It never blocks:
 * the program's loop feeds it records, lets it start and finish transfers
 * (deliver_step) and sleeps in deliver_poll until a socket, a retry's due
 * time or standard input needs it.
 *
 * Fairness: deliveries wait in one queue per host (scheme://host:port) and
 * are started round-robin across hosts, at most --per-host at once to one
 * host and --concurrency in all, so a slow or failing receiver holds only
 * its own share.  A delivery waiting to be retried is in a heap ordered by
 * due time and holds no connection.
 */
#ifndef SLUICE_DELIVER_H
#define SLUICE_DELIVER_H

#include <curl/curl.h>

#include "webhook-send.h"

struct delivery;

struct host {
	char *origin;
	unsigned inflight;
	struct delivery *head, *tail;	/* waiting to start */
};

struct deliver_stats {
	uint64_t deliveries, attempts, delivered, failed, retries, refused;
};

struct deliverer {
	CURLM *multi;
	EVP_MAC *mac;
	struct jw *out;			/* delivery records (or requests) */
	struct jw body;			/* scratch for chat bodies */
	struct host *hosts;
	size_t nhosts;
	size_t rr;			/* where the next round-robin starts */
	struct delivery *flying;	/* in flight */
	struct delivery **heap;		/* retries by due time */
	size_t nheap, heapcap;
	CURL **idle;			/* easy handles to reuse */
	size_t nidle;
	size_t queued, inflight;
	unsigned concurrency, per_host;
	bool allow_private, dry_run;
	/* Ending: no new attempt starts after end_ms (wall clock); a retry
	 * that would is written as a final failure, "shutdown". */
	bool ending;
	int64_t end_ms;
	uint64_t rng;
	struct deliver_stats st;
	char tsbuf[32];
};

int deliver_init(struct deliverer *d, struct jw *out, unsigned concurrency,
    unsigned per_host, bool allow_private, bool dry_run);
void deliver_free(struct deliverer *d);

/* Give every webhook of c its host (new hosts are added).  0 or -1. */
int deliver_attach(struct deliverer *d, struct config *c);

/* Queue the deliveries of one record: line[0, n), scanned into vals with
 * c's scan.  Under --dry-run the signed requests are written instead. */
void deliver_record(struct deliverer *d, struct config *c,
    const struct sval *vals, const char *line, size_t n);

/* Start what may start, let libcurl work, write what finished. */
void deliver_step(struct deliverer *d);

/* Wait until there is work: a socket, a due retry, or fd readable (fd < 0:
 * none), for at most max_ms. */
void deliver_poll(struct deliverer *d, int fd, int max_ms);

/* From now on, start no attempt after end_ms: retries that would wait
 * past it are written as final failures with error "shutdown".  now: and
 * start nothing more at all (SIGTERM); else deliveries already queued are
 * still attempted (end of input). */
void deliver_end(struct deliverer *d, int64_t end_ms, bool now);

/* Deliveries held: waiting, in flight or waiting to retry. */
static inline size_t
deliver_pending(const struct deliverer *d)
{
	return d->queued + d->inflight + d->nheap;
}

#endif
