/*
 * redis.h - a hiredis connection opened the way every sluice program
 * needs it: bounded by a timeout at every step, authenticated, on the
 * right database, with failures told apart (down, or refused for a reason
 * that retrying will not fix, such as a wrong password).
 *
 * Ownership: redis_open() returns a context the caller frees with
 * redisFree().  Nothing here prints or retries: the caller decides.
 */
#ifndef SLUICE_REDIS_H
#define SLUICE_REDIS_H

#include <hiredis/hiredis.h>

#include "err.h"
#include "redisurl.h"

enum redis_status {
	REDIS_UP,		/* connected, authenticated, database selected */
	REDIS_DOWN,		/* no connection, a timeout, or the server went away */
	REDIS_DENIED		/* the server answered no: password, ACL, database */
};

/* Connect to u; every connect, write and read waits at most timeout_ms.
 * Returns the context, or NULL with *st and e saying why. */
redisContext *redis_open(const struct redis_url *u, int timeout_ms,
    enum redis_status *st, struct sl_err *e);

/* Is this error reply one that means "authenticate first / wrong
 * credentials" (NOAUTH, WRONGPASS, invalid password)? */
int redis_is_auth_error(const char *msg);

#endif
