/*
 * redisurl.h - Redis server addresses as operators write them:
 *   redis://[[user]:password@]host[:port][/db]
 *   unix://[[user]:password@]/path/to/redis.sock[?db=N]
 * with ?db=N and ?password=P accepted on either form, %XX escapes in the
 * user, password and path, and IPv6 hosts in brackets ([::1]:6379).
 *
 * Parsing only: no hiredis here, so anything may use it (redis.h
 * connects).  The struct owns its strings; redis_url_free() releases them.
 */
#ifndef SLUICE_REDISURL_H
#define SLUICE_REDISURL_H

#include "err.h"

struct redis_url {
	char *host;		/* TCP host, or NULL for a Unix socket */
	int port;		/* TCP port (default 6379) */
	char *path;		/* Unix socket path, or NULL */
	char *user;		/* ACL user, or NULL */
	char *password;		/* or NULL */
	int db;			/* SELECTed database (default 0) */
	char *safe;		/* the URL with the password masked, for messages */
};

/* Parse s into u.  Returns 0, or -1 with e saying what is wrong (and u
 * left empty). */
int redis_url_parse(const char *s, struct redis_url *u, struct sl_err *e);

void redis_url_free(struct redis_url *u);

#endif
