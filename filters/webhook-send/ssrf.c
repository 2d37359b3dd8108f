/*
 * ssrf.c - the addresses a webhook may not reach unless allowed.
 *
 * A webhook URL comes from configuration, but its host name resolves at
 * delivery time, and a name can resolve (or be made to resolve, by DNS
 * rebinding) to the metadata service or to something on the host's own
 * network.  So the check is made on the address a socket is about to
 * connect to (libcurl's open-socket callback), never on the name.
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64
 * (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::) IPv6 addresses are judged
 * by the IPv4 address inside; Teredo (2001::/32) and local-use NAT64
 * (64:ff9b:1::/48) are tunnels to places we cannot judge, so refused.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "webhook-send.h"

static const char *
v4(const unsigned char a[4])
{
	if (a[0] == 127)
		return "loopback";
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
		return "private";
	if (a[0] == 169 && a[1] == 254)
		return "link-local";
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return "shared (CGNAT)";
	if (a[0] == 0)
		return "unspecified";
	if (a[0] == 192 && a[1] == 0 && a[2] == 0)
		return "special-purpose";	/* 192.0.0.0/24, IETF protocols */
	if (a[0] == 198 && (a[1] & 0xfe) == 18)
		return "benchmarking";		/* 198.18.0.0/15 */
	if (a[0] >= 224 && a[0] <= 239)
		return "multicast";
	if (a[0] >= 240)
		return "reserved";
	return NULL;
}

static const char *
v6(const unsigned char a[16])
{
	static const unsigned char zero[12], mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };

	if (memcmp(a, zero, 12) == 0) {
		if (memcmp(a + 12, "\0\0\0\0", 4) == 0)
			return "unspecified";
		if (memcmp(a + 12, "\0\0\0\1", 4) == 0)
			return "loopback";
		return v4(a + 12);	/* IPv4-compatible */
	}
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return v4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return v4(a + 2);	/* 6to4 */
	if (memcmp(a, "\x20\x01\0\0", 4) == 0)
		return "Teredo";
	if (memcmp(a, "\0\x64\xff\x9b\0\x01", 6) == 0)
		return "local-use NAT64";
	if ((a[0] & 0xfe) == 0xfc)
		return "private";	/* fc00::/7, RFC 4193 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";	/* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return "site-local";	/* fec0::/10, deprecated but routable inside */
	if (a[0] == 0xff)
		return "multicast";
	return NULL;
}

const char *
ssrf_forbidden(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)sa;
		return v4((const unsigned char *)&s->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)sa;
		return v6(s->sin6_addr.s6_addr);
	}
	return "not an internet address";
}
