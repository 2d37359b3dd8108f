/*
 * sign.c - Standard Webhooks: the delivery id and the signature.
 *
 * The signature is HMAC-SHA256, keyed with the secret's decoded bytes,
 * over "id.timestamp.body", written "v1," plus its base64; with several
 * secrets (rotation) one such entry per secret, space-separated.  The
 * HMAC is OpenSSL's; nothing here implements SHA-256.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "hash.h"
#include "webhook-send.h"

void
delivery_id(const char *event_id, size_t n, const char *webhook,
    char out[DELIVERY_ID_LEN])
{
	struct hash128 h = hash128_seed(0x77686b);	/* "whk" */
	size_t wn = strlen(webhook);

	hash128_update(&h, event_id, n);
	hash128_update(&h, "", 1);	/* keeps ("ab","c") apart from ("a","bc") */
	hash128_update(&h, webhook, wn);
	memcpy(out, "msg_", 4);
	hash128_hex(h, n + 1 + wn, out + 4);
}

int
secret_decode(const char *s, size_t n, struct secret *out, const char **why)
{
	long len;

	if (n >= 6 && memcmp(s, "whsec_", 6) == 0) {
		s += 6;
		n -= 6;
	}
	if (n == 0) {
		*why = "empty";
		return -1;
	}
	/* The decoded size, padding not counted, before decoding into key. */
	size_t pad = n % 4 == 0 ? (s[n - 1] == '=') + (n > 1 && s[n - 2] == '=') : 0;
	if ((n + 3) / 4 * 3 - pad > SECRET_MAX) {
		*why = "longer than 128 bytes";
		return -1;
	}
	if ((len = b64_decode(out->key, s, n)) <= 0) {
		*why = "not base64 (whsec_ followed by standard base64 with padding)";
		return -1;
	}
	out->len = (size_t)len;
	return 0;
}

size_t
sign(EVP_MAC *m, const struct webhook *h, const char *id, int64_t ts,
    const char *body, size_t n, char *out, size_t cap)
{
	char head[96];
	int hn = snprintf(head, sizeof(head), "%s.%lld.", id, (long long)ts);
	size_t o = 0;

	if (hn < 0 || (size_t)hn >= sizeof(head))
		return 0;
	for (size_t i = 0; i < h->nsecrets; i++) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			OSSL_PARAM_construct_end()
		};
		size_t outl = 0;
		int ok = c != NULL &&
		    EVP_MAC_init(c, h->secrets[i].key, h->secrets[i].len, params) &&
		    EVP_MAC_update(c, (const unsigned char *)head, (size_t)hn) &&
		    EVP_MAC_update(c, (const unsigned char *)body, n) &&
		    EVP_MAC_final(c, mac, &outl, sizeof(mac));
		EVP_MAC_CTX_free(c);
		if (!ok || outl != 32 || o + SIGN_ONE_LEN + 1 > cap)
			return 0;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, "v1,", 3);
		o += 3;
		o += b64_encode(out + o, mac, outl);
	}
	out[o] = '\0';
	return o;
}
