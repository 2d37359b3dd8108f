/*
 * sig.c - async-signal-safe handlers that set flags and nothing else.
 */
#include "sig.h"

#include <string.h>

volatile sig_atomic_t sig_hup;
volatile sig_atomic_t sig_term;
volatile sig_atomic_t sig_usr1;

static void
on_signal(int signo)
{
	switch (signo) {
	case SIGHUP: sig_hup = 1; break;
	case SIGTERM: /* FALLTHROUGH */
	case SIGINT: sig_term = 1; break;
	case SIGUSR1: sig_usr1 = 1; break;
	default: break;
	}
}

int
sig_install(void)
{
	struct sigaction sa;
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = 0;	/* no SA_RESTART: blocked reads return EINTR */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}
