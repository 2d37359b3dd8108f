/*
 * test-sign.c - unit tests of webhook-send's signing and address checks:
 * the Standard Webhooks specification's known-answer vector (read from
 * t/data/standard-webhooks/vectors.json), rotation with several secrets,
 * the secrets the specification rejects, delivery ids, and the addresses
 * ssrf.c refuses.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../../filters/webhook-send/webhook-send.h"
#include "tap.h"

static const char *
sv(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void
test_vector(EVP_MAC *mac)
{
	json_error_t je;
	json_t *root = json_load_file("t/data/standard-webhooks/vectors.json", 0, &je);
	json_t *v = json_object_get(root, "sign_vector");
	struct webhook h;
	const char *why = NULL;
	char out[256];

	if (!ok(v != NULL, "the vectors file loads")) {
		fprintf(stderr, "# %s\n", je.text);
		return;
	}
	memset(&h, 0, sizeof(h));
	ok(secret_decode(sv(v, "secret"), strlen(sv(v, "secret")), &h.secrets[0], &why) == 0,
	    "the vector's whsec_ secret decodes");
	h.nsecrets = 1;
	const char *payload = sv(v, "payload");
	size_t n = sign(mac, &h, sv(v, "msg_id"),
	    (int64_t)json_integer_value(json_object_get(v, "timestamp")),
	    payload, strlen(payload), out, sizeof(out));
	ok(n > 0, "sign() succeeds");
	is_str(out, sv(v, "expected_signature"), "the known-answer signature");

	/* The same secret without its prefix is the same key. */
	struct secret bare;
	ok(secret_decode(sv(v, "secret_unprefixed_base64"),
	    strlen(sv(v, "secret_unprefixed_base64")), &bare, &why) == 0 &&
	    bare.len == h.secrets[0].len && memcmp(bare.key, h.secrets[0].key, bare.len) == 0,
	    "a secret without whsec_ decodes to the same key");

	/* Rotation: two secrets, two space-separated entries, the known one
	 * among them. */
	static const char other[] = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
	ok(secret_decode(other, strlen(other), &h.secrets[1], &why) == 0, "a second secret decodes");
	h.nsecrets = 2;
	n = sign(mac, &h, sv(v, "msg_id"),
	    (int64_t)json_integer_value(json_object_get(v, "timestamp")),
	    payload, strlen(payload), out, sizeof(out));
	const char *sp = strchr(out, ' ');
	ok(n == 2 * SIGN_ONE_LEN + 1 && sp != NULL, "two secrets give two entries");
	ok(sp != NULL && strncmp(out, sv(v, "expected_signature"), (size_t)(sp - out)) == 0,
	    "the first entry is the first secret's signature");
	ok(sp != NULL && strncmp(sp + 1, "v1,", 3) == 0 &&
	    strcmp(sp + 1, sv(v, "expected_signature")) != 0,
	    "the second entry is another v1 signature");

	/* The specification's rejected secrets. */
	json_t *neg = json_object_get(json_object_get(root, "negative_vectors"), "empty_secrets_rejected");
	size_t i;
	json_t *s;
	json_array_foreach(neg, i, s) {
		struct secret x;
		ok(secret_decode(json_string_value(s), strlen(json_string_value(s)), &x, &why) != 0,
		    "secret \"%s\" is rejected", json_string_value(s));
	}
	struct secret x;
	ok(secret_decode("whsec_not*base64", 16, &x, &why) != 0, "a secret that is not base64 is rejected");
	/* The size limit is on the decoded key: 128 bytes (172 characters,
	 * one of them padding) pass, 129 (172, no padding) do not. */
	char b[256] = "whsec_";
	memset(b + 6, 'A', 171);
	memcpy(b + 177, "=", 2);
	ok(secret_decode(b, strlen(b), &x, &why) == 0 && x.len == 128, "a 128-byte secret is accepted");
	memset(b + 6, 'A', 172);
	b[178] = '\0';
	ok(secret_decode(b, strlen(b), &x, &why) != 0, "a 129-byte secret is rejected");
	json_decref(root);
}

static void
test_ids(void)
{
	char a[DELIVERY_ID_LEN + 1] = "", b[DELIVERY_ID_LEN + 1] = "", c[DELIVERY_ID_LEN + 1] = "";

	delivery_id("e1", 2, "hook", a);
	delivery_id("e1", 2, "hook", b);
	delivery_id("e1", 2, "hook2", c);
	ok(memcmp(a, b, DELIVERY_ID_LEN) == 0, "the same event and webhook give the same id");
	ok(memcmp(a, c, DELIVERY_ID_LEN) != 0, "another webhook gives another id");
	delivery_id("e1h", 3, "ook", b);
	ok(memcmp(a, b, DELIVERY_ID_LEN) != 0, "(e1, hook) and (e1h, ook) differ");
	ok(strncmp(a, "msg_", 4) == 0 && strspn(a + 4, "0123456789abcdef") == 32,
	    "an id is msg_ and 32 hex digits");
}

static const char *
judge(const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &s->sin6_addr);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &s->sin_addr);
	}
	return ssrf_forbidden((struct sockaddr *)&ss);
}

static void
test_ssrf(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255",
		"0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1",
		"fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::10.0.0.1", "198.18.0.1", "198.19.255.255", "192.0.0.8",
		"2002:7f00:1::", "2002:a9fe:a9fe::1", "2001:0:4136:e378::1",
		"64:ff9b:1::8.8.8.8", NULL
	};
	static const char *const allowed[] = {
		"1.1.1.1", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1",
		"100.63.255.255", "192.169.0.1", "2001:4860:4860::8888",
		"::ffff:8.8.8.8", "2606:4700::1111", "198.17.255.255", "198.20.0.1",
		"192.0.1.1", "2002:808:808::1", "2001:db8:1::1", "64:ff9b::8.8.8.8",
		NULL
	};
	for (size_t i = 0; refused[i] != NULL; i++)
		ok(judge(refused[i]) != NULL, "%s is refused (%s)", refused[i],
		    judge(refused[i]) ? judge(refused[i]) : "allowed");
	for (size_t i = 0; allowed[i] != NULL; i++)
		ok(judge(allowed[i]) == NULL, "%s is allowed", allowed[i]);
}

int
main(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	ok(mac != NULL, "OpenSSL has HMAC");
	if (mac != NULL)
		test_vector(mac);
	test_ids();
	test_ssrf();
	EVP_MAC_free(mac);
	return done();
}
