/*
 * sig.h - signal flags for the record loops.
 *
 * Handlers only set these flags (the one kind of mutable global the house
 * allows); loops test them between records and after NDJSON_INTR.  Handlers
 * are installed without SA_RESTART so a blocked read or poll returns EINTR
 * and the loop sees the flag at once.  SIGPIPE is ignored: a write to a
 * closed pipe fails with EPIPE, which the writer reports, and the program
 * then ends quietly.
 */
#ifndef SLUICE_SIG_H
#define SLUICE_SIG_H

#include <signal.h>

extern volatile sig_atomic_t sig_hup;	/* SIGHUP: reload / reopen */
extern volatile sig_atomic_t sig_term;	/* SIGTERM or SIGINT: drain and exit */
extern volatile sig_atomic_t sig_usr1;	/* SIGUSR1: print stats */

/* Install the handlers.  Returns 0 or -1 (errno set). */
int sig_install(void);

#endif
