/*
 * redis.c - connect, AUTH, SELECT and PING with a deadline on each step.
 */
#include "redis.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

int
redis_is_auth_error(const char *msg)
{
	return strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
	    strstr(msg, "invalid password") != NULL ||
	    strstr(msg, "invalid username-password") != NULL ||
	    strstr(msg, "no password is set") != NULL;
}

/* Run one command; 0 when it answered without an error reply. */
static int
step(redisContext *c, const char *what, int argc, const char **argv,
    enum redis_status *st, struct sl_err *e)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);

	if (r == NULL) {
		*st = REDIS_DOWN;
		return err_set(e, NULL, 0, 0, "%s: %s", what,
		    c->errstr[0] ? c->errstr : "no reply");
	}
	if (r->type == REDIS_REPLY_ERROR) {
		*st = REDIS_DENIED;
		if (redis_is_auth_error(r->str))
			err_set(e, NULL, 0, 0, "authentication failed (%s): %s",
			    strcmp(what, "AUTH") == 0 ? "wrong user or password?" :
			    "the server needs a password: give it in the URL", r->str);
		else
			err_set(e, NULL, 0, 0, "%s: %s", what, r->str);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

redisContext *
redis_open(const struct redis_url *u, int timeout_ms, enum redis_status *st,
    struct sl_err *e)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c;

	c = u->path ? redisConnectUnixWithTimeout(u->path, tv) :
	    redisConnectWithTimeout(u->host, u->port, tv);
	if (c == NULL || c->err) {
		*st = REDIS_DOWN;
		err_set(e, NULL, 0, 0, "cannot connect: %s", c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		*st = REDIS_DOWN;
		err_set(e, NULL, 0, 0, "cannot set the timeout: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (u->password != NULL) {
		const char *argv[3] = { "AUTH", u->user ? u->user : u->password, u->password };
		if (step(c, "AUTH", u->user ? 3 : 2, argv, st, e) != 0) {
			redisFree(c);
			return NULL;
		}
	}
	if (u->db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", u->db);
		const char *argv[2] = { "SELECT", db };
		if (step(c, "SELECT", 2, argv, st, e) != 0) {
			redisFree(c);
			return NULL;
		}
	}
	const char *ping[1] = { "PING" };
	if (step(c, "PING", 1, ping, st, e) != 0) {
		redisFree(c);
		return NULL;
	}
	*st = REDIS_UP;
	return c;
}
