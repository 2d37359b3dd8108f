/*
 * body.c - what a webhook receives.
 *
 * standard: the record itself, byte for byte (so the signature a receiver
 * checks is over exactly the line webhook-send read).  slack: an incoming
 * webhook message, a `text` fallback plus Block Kit blocks.  teams: an
 * Office 365 connector MessageCard.  Both chat formats are built from the
 * alert's message, severity, rule and group, and fall back to the event id
 * for records that are not alerts.
 */
#include <string.h>

#include "webhook-send.h"

struct text {
	const char *p;
	size_t len;
};

static struct text
field(const struct config *c, const struct sval *vals, int f, const char *dflt)
{
	const struct sval *v = &vals[c->slot[f]];
	if (v->type == 0 || v->type == 'n' || v->len == 0)
		return (struct text){ dflt, strlen(dflt) };
	return (struct text){ v->p, v->len };
}

/* A string value written in pieces: open, pieces, close. */
static void
str_open(struct jw *w)
{
	jw_raw(w, "\"", 1);
}

static void
str_close(struct jw *w)
{
	jw_bytes(w, "\"", 1);
}

/* Slack's mrkdwn gives &, < and > meaning; its docs ask for them escaped. */
static void
mrkdwn(struct jw *w, struct text t)
{
	size_t i = 0, from = 0;

	for (; i < t.len; i++) {
		const char *rep = t.p[i] == '&' ? "&amp;" : t.p[i] == '<' ? "&lt;" :
		    t.p[i] == '>' ? "&gt;" : NULL;
		if (rep == NULL)
			continue;
		jw_escaped(w, t.p + from, i - from);
		jw_bytes(w, rep, strlen(rep));
		from = i + 1;
	}
	jw_escaped(w, t.p + from, t.len - from);
}

static void
text_piece(struct jw *w, const char *s)
{
	jw_escaped(w, s, strlen(s));
}

static void
slack(const struct config *c, const struct sval *v, struct jw *w)
{
	struct text msg = field(c, v, F_MESSAGE, ""), sev = field(c, v, F_SEVERITY, "");
	struct text rule = field(c, v, F_RULE_NAME, "");
	struct text rid = field(c, v, F_RULE_ID, ""), grp = field(c, v, F_GROUP, "");
	struct text id = field(c, v, F_EVENT_ID, "");

	if (rule.len == 0)
		rule = rid;
	jw_obj_open(w);
	JW_KEY_LIT(w, "text");
	str_open(w);
	if (sev.len > 0) {
		text_piece(w, "[");
		mrkdwn(w, sev);
		text_piece(w, "] ");
	}
	if (msg.len > 0)
		mrkdwn(w, msg);
	else if (rule.len > 0)
		mrkdwn(w, rule);
	else {
		text_piece(w, "sluice event");
		if (id.len > 0) {
			text_piece(w, " ");
			mrkdwn(w, id);
		}
	}
	str_close(w);
	JW_KEY_LIT(w, "blocks");
	jw_arr_open(w);
	jw_obj_open(w);
	JW_KEY_LIT(w, "type");
	jw_str_plain(w, "section", 7);
	JW_KEY_LIT(w, "text");
	jw_obj_open(w);
	JW_KEY_LIT(w, "type");
	jw_str_plain(w, "mrkdwn", 6);
	JW_KEY_LIT(w, "text");
	str_open(w);
	if (rule.len > 0) {
		text_piece(w, "*");
		mrkdwn(w, rule);
		text_piece(w, "*\n");
	}
	mrkdwn(w, msg.len > 0 ? msg : id);
	str_close(w);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_obj_open(w);
	JW_KEY_LIT(w, "type");
	jw_str_plain(w, "context", 7);
	JW_KEY_LIT(w, "elements");
	jw_arr_open(w);
	jw_obj_open(w);
	JW_KEY_LIT(w, "type");
	jw_str_plain(w, "mrkdwn", 6);
	JW_KEY_LIT(w, "text");
	str_open(w);
	text_piece(w, "severity: ");
	mrkdwn(w, sev.len ? sev : (struct text){ "-", 1 });
	text_piece(w, " | rule: ");
	mrkdwn(w, rid.len ? rid : (struct text){ "-", 1 });
	text_piece(w, " | group: ");
	mrkdwn(w, grp.len ? grp : (struct text){ "-", 1 });
	str_close(w);
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
}

static const char *
theme(struct text sev)
{
	static const struct { const char *name, *color; } colors[] = {
		{ "critical", "8B0000" }, { "high", "D13438" },
		{ "medium", "FFA500" }, { "low", "2E8B57" },
	};
	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
		if (sev.len == strlen(colors[i].name) &&
		    strncasecmp(sev.p, colors[i].name, sev.len) == 0)
			return colors[i].color;
	return "0078D7";
}

static void
fact(struct jw *w, const char *name, struct text t)
{
	jw_obj_open(w);
	JW_KEY_LIT(w, "name");
	jw_strz(w, name);
	JW_KEY_LIT(w, "value");
	jw_str(w, t.len ? t.p : "-", t.len ? t.len : 1);
	jw_obj_close(w);
}

static void
teams(const struct config *c, const struct sval *v, struct jw *w)
{
	struct text msg = field(c, v, F_MESSAGE, ""), sev = field(c, v, F_SEVERITY, "");
	struct text rule = field(c, v, F_RULE_NAME, "");
	struct text rid = field(c, v, F_RULE_ID, ""), grp = field(c, v, F_GROUP, "");
	struct text id = field(c, v, F_EVENT_ID, "");

	if (rule.len == 0)
		rule = rid.len ? rid : (struct text){ "sluice", 6 };
	jw_obj_open(w);
	JW_KEY_LIT(w, "@type");
	jw_str_plain(w, "MessageCard", 11);
	JW_KEY_LIT(w, "@context");
	jw_strz(w, "https://schema.org/extensions");
	JW_KEY_LIT(w, "themeColor");
	jw_strz(w, theme(sev));
	JW_KEY_LIT(w, "summary");
	jw_str(w, rule.p, rule.len);
	JW_KEY_LIT(w, "title");
	str_open(w);
	if (sev.len > 0) {
		text_piece(w, "[");
		jw_escaped(w, sev.p, sev.len);
		text_piece(w, "] ");
	}
	jw_escaped(w, rule.p, rule.len);
	str_close(w);
	JW_KEY_LIT(w, "text");
	if (msg.len > 0)
		jw_str(w, msg.p, msg.len);
	else
		jw_str(w, id.p, id.len);
	JW_KEY_LIT(w, "sections");
	jw_arr_open(w);
	jw_obj_open(w);
	JW_KEY_LIT(w, "facts");
	jw_arr_open(w);
	fact(w, "Severity", sev);
	fact(w, "Rule", rid);
	fact(w, "Group", grp);
	fact(w, "Event", id);
	jw_arr_close(w);
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
}

void
body_build(const struct config *c, const struct webhook *h,
    const struct sval *vals, const char *line, size_t n, struct jw *w)
{
	jw_reset(w);
	switch (h->format) {
	case FMT_STANDARD:
		jw_bytes(w, line, n);
		break;
	case FMT_SLACK:
		slack(c, vals, w);
		break;
	case FMT_TEAMS:
		teams(c, vals, w);
		break;
	}
}
