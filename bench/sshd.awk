# sshd.awk - the peer for `event-decode -f sshd`: pull user, IP and port out
# of "Failed/Accepted METHOD for [invalid user] U from IP port P ssh2"
# lines; print every other line's stamp, host and message.  One JSON-ish
# line out per line in; no validation, no escaping, no time conversion.
$6 == "Failed" || $6 == "Accepted" {
	if ($9 == "invalid") { u = $11; ip = $13; port = $15 }
	else                 { u = $9;  ip = $11; port = $13 }
	printf "{\"ts\":\"%s %s %s\",\"host\":\"%s\",\"outcome\":\"%s\",\"method\":\"%s\"," \
	    "\"user\":\"%s\",\"ip\":\"%s\",\"port\":%s}\n",
	    $1, $2, $3, $4, ($6 == "Failed" ? "failure" : "success"), $7, u, ip, port
	next
}
{
	printf "{\"ts\":\"%s %s %s\",\"host\":\"%s\",\"message\":\"%s\"}\n",
	    $1, $2, $3, $4, substr($0, index($0, "]: ") + 3)
}
