/*
 * fuzz-rules.c - libFuzzer target for anomaly-detect's rule loader: any
 * bytes as a rules file must load or be refused with a positioned error,
 * never crash, leak or read out of bounds.  A set that loads is also run
 * over a few events and dumped, so the compiled matcher, the index and
 * the engine meet whatever the loader accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "jw.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events[] = {
	"{\"@timestamp\":\"2026-11-22T00:00:01.000Z\",\"event\":{\"id\":\"a\",\"dataset\":\"sshd.auth\","
	"\"outcome\":\"failure\"},\"source\":{\"ip\":\"10.0.0.1\"},\"user\":{\"name\":\"root\"}}",
	"{\"@timestamp\":\"2026-11-22T00:00:02.500Z\",\"http\":{\"response\":{\"status_code\":404}},"
	"\"url\":{\"original\":\"/admin/x?q=1\"},\"tags\":[\"a\",1,null],\"n\":-1.5e3}",
	"{\"x\":{},\"y\":[[]],\"z\":\"\\u00e9\\n\",\"source.ip\":\"::ffff:192.168.0.1\"}",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset rs;
	struct sl_err first;

	if (ruleset_load_text(&rs, "fuzz.yaml", (const char *)data, size, NULL, NULL, &first) != 0)
		return 0;
	free(ruleset_dump(&rs));
	struct engine *en = engine_new(&rs, 4);
	if (en == NULL) {
		ruleset_free(&rs);
		return 0;
	}
	struct jw w;
	size_t slots = scan_slots(engine_scan(en));
	struct sval *vals = calloc(slots + 1, sizeof(*vals));
	if (vals != NULL && jw_init(&w, -1) == 0) {
		for (int round = 0; round < 3; round++)
			for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
				struct jscan_err e;
				const char *ev = events[i];
				if (scan_record(engine_scan(en), ev, strlen(ev), vals, &e) == 0)
					engine_event(en, vals, 1795000000000 + round * 1000 + (int64_t)i, &w);
			}
		jw_free(&w);
	}
	free(vals);
	engine_free(en);
	return 0;
}
