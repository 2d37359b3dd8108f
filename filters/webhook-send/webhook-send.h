/*
 * webhook-send.h - the pieces of webhook-send and what they share.
 *
 *   config.c   the webhooks file: checked, secrets resolved, selections
 *              compiled; one struct config per load, shared by reference
 *              so a reload never pulls a webhook from under a delivery
 *   sign.c     Standard Webhooks ids and signatures (OpenSSL's HMAC)
 *   body.c     the bytes sent: the record itself, or a Slack or Teams
 *              message built from it
 *   ssrf.c     which addresses a webhook may connect to
 *   deliver.c  deliveries: queues per host, retries waiting in a heap,
 *              transfers on libcurl's multi interface, delivery records
 *   main.c     options, the loop that joins standard input to libcurl,
 *              signals
 *
 * A delivery is one record for one webhook.  It lives from the moment the
 * record matches the webhook until its final attempt is written: first in
 * its host's ready queue, then in flight, then (when it may be retried)
 * waiting in the retry heap, and back to the ready queue when its time
 * comes.  Nothing else holds it, so nothing is lost: at the end every
 * delivery still held is written as a final failure with its payload.
 */
#ifndef SLUICE_WEBHOOK_SEND_H
#define SLUICE_WEBHOOK_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "err.h"
#include "feed.h"
#include "jw.h"
#include "reject.h"
#include "scan.h"
#include "select.h"
#include "yamlcfg.h"

enum format { FMT_STANDARD, FMT_SLACK, FMT_TEAMS };

#define MAX_SECRETS 8
#define SECRET_MAX 128		/* bytes of a decoded key */

struct secret {
	unsigned char key[SECRET_MAX];
	size_t len;
};

struct header {
	char *line;		/* "Name: value", as curl takes it */
};

struct webhook {
	char *name;
	char *url;
	char *origin;		/* scheme://host:port, the per-host key */
	enum format format;
	bool enabled, allow_private;
	struct select *events;	/* NULL: every record */
	int retry_count;
	int64_t timeout_ms, connect_timeout_ms;
	int64_t backoff_base_ms, backoff_cap_ms;
	struct secret secrets[MAX_SECRETS];
	size_t nsecrets;
	struct header *headers;
	size_t nheaders;
	unsigned host;		/* index into the deliverer's hosts */
};

/* The fields of a record webhook-send reads, as scan slots. */
enum {
	F_EVENT_ID, F_MESSAGE, F_SEVERITY, F_RULE_ID, F_RULE_NAME, F_GROUP,
	F_TIMESTAMP, F_KIND, NFIELDS
};

struct config {
	unsigned refs;		/* the program's hold, plus one per delivery */
	struct ydoc doc;
	struct scan *scan;	/* the selections' fields and F_* */
	int slot[NFIELDS];
	struct webhook *hooks;
	size_t nhooks;
};

/* Load path (inline secrets draw a warning on stderr).  Returns NULL with
 * e naming file:line:column. */
struct config *config_load(const char *path, struct sl_err *e);
void config_unref(struct config *c);

/* --- sign.c --------------------------------------------------------- */

#define DELIVERY_ID_LEN 36	/* "msg_" + 32 hex */

/* The delivery id: the same for every attempt and every replay of one
 * record to one webhook. */
void delivery_id(const char *event_id, size_t n, const char *webhook,
    char out[DELIVERY_ID_LEN]);

/* The webhook-signature value for id.timestamp.body: "v1,<base64>" per
 * secret, space-separated, with m from EVP_MAC_fetch(NULL, "HMAC", NULL).
 * Returns its length, or 0 on failure. */
size_t sign(EVP_MAC *m, const struct webhook *h, const char *id, int64_t ts,
    const char *body, size_t n, char *out, size_t cap);

#define SIGN_ONE_LEN (3 + 44)	/* "v1," + base64 of 32 bytes */

/* Decode a secret as Standard Webhooks writes it: "whsec_" (optional) and
 * base64.  Returns 0, or -1 with *why set. */
int secret_decode(const char *s, size_t n, struct secret *out, const char **why);

/* --- body.c --------------------------------------------------------- */

/* The body for h of the record line[0, n) whose fields are vals (scanned
 * with c's scan), into w (reset first).  The standard body is the line. */
void body_build(const struct config *c, const struct webhook *h,
    const struct sval *vals, const char *line, size_t n, struct jw *w);

/* --- ssrf.c --------------------------------------------------------- */

/* Why a connection to sa must be refused ("loopback", "private", ...),
 * or NULL when it is a public address. */
struct sockaddr;
const char *ssrf_forbidden(const struct sockaddr *sa);

#endif
