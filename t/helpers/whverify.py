#!/usr/bin/python3
"""whverify.py - check the Standard Webhooks signatures of the requests a
receiver logged, independently of webhook-send: python's own hmac and
base64, following the specification (signed content is
"id.timestamp.body"; the key is the base64 secret without "whsec_"; the
header is a space-separated list of "v1,<base64>" entries).

usage: whverify.py LOG SECRET [SECRET...]

Every request in LOG must carry webhook-id, webhook-timestamp and a
webhook-signature with one valid v1 entry per SECRET, in order, and a
timestamp within 5 minutes of when it arrived.  Prints the number of
requests checked; exits 1 at the first that fails, saying why.
"""
import base64
import hashlib
import hmac
import json
import sys


def key(secret):
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret, validate=True)


def main():
    log, secrets = sys.argv[1], sys.argv[2:]
    n = 0
    with open(log, encoding="utf-8") as f:
        for line in f:
            req = json.loads(line)
            h = req["headers"]
            mid, ts, sig = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
            if not mid or not ts or not sig:
                sys.exit(f"request {n + 1}: webhook-id, -timestamp or -signature missing: {h}")
            if abs(int(ts) - req["t"]) > 300:
                sys.exit(f"request {n + 1}: timestamp {ts} is not the time it was sent ({req['t']})")
            content = f"{mid}.{ts}.".encode() + req["body"].encode("utf-8")
            entries = sig.split(" ")
            if len(entries) != len(secrets):
                sys.exit(f"request {n + 1}: {len(entries)} signatures for {len(secrets)} secrets")
            for e, s in zip(entries, secrets):
                want = "v1," + base64.b64encode(
                    hmac.new(key(s), content, hashlib.sha256).digest()).decode()
                if not hmac.compare_digest(e, want):
                    sys.exit(f"request {n + 1}: signature {e} is not {want}")
            n += 1
    print(n)


main()
