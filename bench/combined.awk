# combined.awk - the peer for `event-decode -f combined`: split each
# combined access-log line into its fields and print them as one JSON-ish
# line.  It does the splitting and printing, nothing else: no validation,
# no escaping, no time conversion, no event.id.
{
	split($0, q, "\"")	# q[2] request, q[4] referrer, q[6] user agent
	split(q[2], r, " ")	# r[1] method, r[2] target, r[3] protocol
	printf "{\"@timestamp\":\"%s\",\"source\":{\"ip\":\"%s\"},\"user\":{\"name\":\"%s\"}," \
	    "\"http\":{\"request\":{\"method\":\"%s\",\"referrer\":\"%s\"},\"version\":\"%s\"," \
	    "\"response\":{\"status_code\":%s,\"body\":{\"bytes\":%s}}}," \
	    "\"url\":{\"original\":\"%s\"},\"user_agent\":{\"original\":\"%s\"}}\n",
	    substr($4, 2), $1, $3, r[1], q[4], r[3], $9, ($10 == "-" ? "null" : $10), r[2], q[6]
}
