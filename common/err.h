/*
 * err.h - the error struct common/ fills instead of printing: a message and,
 * for configuration, where in which file it went wrong.
 */
#ifndef SLUICE_ERR_H
#define SLUICE_ERR_H

struct sl_err {
	char msg[512];
	char file[256];		/* empty when the error has no file */
	unsigned line, col;	/* 1-based; 0 when unknown */
};

/* Fill e (may be NULL); file may be NULL.  Always returns -1, so callers
 * can write `return err_set(...)`. */
int err_set(struct sl_err *e, const char *file, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Write "file:line:col: msg" (or just msg) into out. */
void err_where(const struct sl_err *e, char *out, unsigned long size);

#endif
