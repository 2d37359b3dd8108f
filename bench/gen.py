#!/usr/bin/env python3
"""gen.py - seeded generator of benchmark log lines for sluice.

usage: python3 bench/gen.py KIND [-n LINES] [-s SEED]

KIND is one of:
  combined  Apache/nginx combined access log lines
  sshd      syslog lines from OpenSSH's sshd (an internet-facing host under
            the usual password-guessing traffic, plus some real logins)
  ndjson    ECS-style JSON events of about 350 bytes (nginx access events)

LINES defaults to 1,000,000; SEED to 1.  The same KIND, LINES and SEED give
the same bytes on every run and Python 3 version (only random.Random.random()
is used, whose sequence is stable).  Timestamps run through one day,
22 Nov 2026 (UTC), never going backwards.  Every address is from the
documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
2001:db8::/32.  Standard library only.
"""

import argparse
import os
import random
import sys

DAY_SECONDS = 86400
CHUNK_LINES = 20000

# --------------------------------------------------------------------------
# Shared pools.  Weighted pools are lists with repeated entries, so picking
# is one random() call and an index.

V4_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")


def weighted(pairs):
    out = []
    for value, weight in pairs:
        out.extend([value] * weight)
    return out


def make_clients(rng, n, v6_share):
    """A pool of client addresses; a few are much busier than the rest."""
    pool = []
    for _ in range(n):
        if rng.random() < v6_share:
            a = "2001:db8:%x:%x::%x" % (int(rng.random() * 0x10000),
                                        int(rng.random() * 0x10000),
                                        1 + int(rng.random() * 0xfffe))
        else:
            a = V4_NETS[int(rng.random() * 3)] + str(1 + int(rng.random() * 254))
        pool.append(a)
    # Skew: the first tenth of the pool appears ten times as often.
    return pool + pool[: n // 10] * 10


UAS = weighted([
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", 30),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", 12),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", 8),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0", 6),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1", 14),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.6778.81 Mobile Safari/537.36", 10),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 5),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 3),
    ("curl/8.5.0", 4),
    ("Wget/1.21.4", 1),
    ("python-requests/2.32.3", 3),
    ("Go-http-client/1.1", 2),
    ("Prometheus/2.55.1", 2),
    ("kube-probe/1.31", 2),
    ("-", 2),
])

# The JSON events come from an API front end: more programmatic clients.
API_UAS = UAS + weighted([
    ("okhttp/4.12.0", 14), ("Dart/3.5 (dart:io)", 8), ("axios/1.7.7", 10),
    ("curl/8.5.0", 6), ("Go-http-client/2.0", 8), ("python-requests/2.32.3", 8),
    ("ExampleShop/5.12.1 (iPhone; iOS 18.1; Scale/3.00)", 16),
    ("ExampleShop/5.12.0 (Android 14; Pixel 8)", 12),
])

METHODS = weighted([("GET", 82), ("POST", 11), ("HEAD", 3), ("PUT", 2),
                    ("DELETE", 1), ("OPTIONS", 1)])

PROTOCOLS = weighted([("HTTP/1.1", 70), ("HTTP/2.0", 28), ("HTTP/1.0", 2)])

STATIC = ("/", "/index.html", "/favicon.ico", "/robots.txt", "/sitemap.xml",
          "/static/css/main.3f9a1c.css", "/static/js/app.8d2e7b.js",
          "/static/js/vendor.51c0aa.js", "/static/img/logo.svg",
          "/static/img/hero-1920.webp", "/static/fonts/inter-var.woff2",
          "/about", "/pricing", "/blog/", "/blog/2026/11/release-notes",
          "/docs/getting-started", "/docs/api/filters", "/contact")
API = ("/api/v1/items", "/api/v1/items/%d", "/api/v1/users/%d",
       "/api/v1/orders", "/api/v1/orders/%d/status", "/api/v1/search",
       "/api/v2/events", "/api/v2/metrics", "/healthz", "/metrics",
       "/login", "/logout", "/cart", "/checkout", "/products/%d",
       "/products/category/%s")
PROBES = ("/wp-login.php", "/xmlrpc.php", "/.env", "/.git/config",
          "/admin/config.php", "/phpmyadmin/index.php", "/cgi-bin/luci",
          "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
          "/boaform/admin/formLogin", "/actuator/health")
WORDS = ("shoes", "coffee", "laptop", "garden", "books", "kids", "audio",
         "camera", "tools", "sports", "winter", "sale")
QUERIES = ("q=%s", "q=%s&page=%d", "page=%d&per_page=50", "sort=price&order=asc",
           "id=%d", "utm_source=newsletter&utm_medium=email&utm_campaign=nov26",
           "ref=%s&lang=en", "session=%x", "filter[category]=%s&page=%d",
           "from=2026-11-21T00%%3A00%%3A00Z&to=2026-11-22T00%%3A00%%3A00Z")

REFERRERS = weighted([
    ("-", 45),
    ("https://www.example.com/", 15),
    ("https://www.example.com/products/category/shoes", 6),
    ("https://www.example.com/blog/", 4),
    ("https://www.google.com/", 14),
    ("https://www.bing.com/search?q=example+shop", 3),
    ("https://duckduckgo.com/", 3),
    ("https://t.co/aB3dE5fG7h", 2),
    ("https://news.example.net/item?id=4242", 2),
    ("android-app://com.google.android.gm/", 1),
])

STATUSES = weighted([(200, 74), (304, 7), (301, 3), (302, 3), (204, 2),
                     (206, 1), (400, 1), (401, 1), (403, 1), (404, 5),
                     (429, 1), (499, 1), (500, 1), (502, 1), (503, 1)])

USERS_HTTP = weighted([("-", 97), ("alice", 1), ("bob", 1), ("svc-deploy", 1)])


def make_requests(rng, n):
    """A pool of request targets (path with optional query string)."""
    pool = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            p = STATIC[int(rng.random() * len(STATIC))]
        elif r < 0.97:
            p = API[int(rng.random() * len(API))]
            if "%d" in p:
                p = p % (1 + int(rng.random() * 99999))
            elif "%s" in p:
                p = p % WORDS[int(rng.random() * len(WORDS))]
        else:
            p = PROBES[int(rng.random() * len(PROBES))]
        if rng.random() < 0.35:
            q = QUERIES[int(rng.random() * len(QUERIES))]
            args = []
            i = 0
            while True:
                i = q.find("%", i)
                if i < 0:
                    break
                c = q[i + 1]
                if c == "s":
                    args.append(WORDS[int(rng.random() * len(WORDS))])
                elif c == "d":
                    args.append(1 + int(rng.random() * 500))
                elif c == "x":
                    args.append(int(rng.random() * 0xffffffff))
                i += 2
            p = p + "?" + (q % tuple(args))
        pool.append(p)
    return pool


def body_bytes(rnd, status, method):
    """Response size string, '-' where servers log none."""
    if status in (304, 204) or method == "HEAD":
        return "0" if rnd() < 0.5 else "-"
    if status >= 300:
        return str(150 + int(rnd() * 400))
    # Log-normal-ish: mostly small, sometimes large.
    r = rnd()
    if r < 0.6:
        return str(200 + int(rnd() * 8000))
    if r < 0.95:
        return str(8000 + int(rnd() * 120000))
    return str(100000 + int(rnd() * 5000000))


# --------------------------------------------------------------------------
# Time: line i of n happens at second i * 86400 / n (plus sub-second part);
# formatted stamps are cached per second.

MONTH = "Nov"


def hms(sec):
    return "%02d:%02d:%02d" % (sec // 3600, sec // 60 % 60, sec % 60)


def writer(out):
    buf = []

    def flush():
        if buf:
            out.write("".join(buf))
            buf.clear()
    return buf, flush


# --------------------------------------------------------------------------

def gen_combined(n, rng, out):
    rnd = rng.random
    clients = make_clients(rng, 4000, 0.12)
    reqs = make_requests(rng, 20000)
    nc, nr = len(clients), len(reqs)
    nua, nref, nst, nm, npr, nu = (len(UAS), len(REFERRERS), len(STATUSES),
                                   len(METHODS), len(PROTOCOLS), len(USERS_HTTP))
    buf, flush = writer(out)
    last_sec = -1
    stamp = ""
    step = DAY_SECONDS / n
    for i in range(n):
        sec = int(i * step)
        if sec != last_sec:
            last_sec = sec
            stamp = "[22/%s/2026:%s +0000]" % (MONTH, hms(sec))
        method = METHODS[int(rnd() * nm)]
        status = STATUSES[int(rnd() * nst)]
        target = reqs[int(rnd() * nr)]
        if method in ("POST", "PUT", "DELETE") and target[:4] != "/api":
            target = "/api/v1/orders"
        buf.append('%s - %s %s "%s %s %s" %d %s "%s" "%s"\n' % (
            clients[int(rnd() * nc)], USERS_HTTP[int(rnd() * nu)], stamp,
            method, target, PROTOCOLS[int(rnd() * npr)], status,
            body_bytes(rnd, status, method), REFERRERS[int(rnd() * nref)],
            UAS[int(rnd() * nua)]))
        if len(buf) >= CHUNK_LINES:
            flush()
    flush()


# --------------------------------------------------------------------------
# sshd: sessions, a few at a time, interleaved as on a real host.  Each
# session is a list of messages from one sshd process.  Most traffic is
# password guessing (invalid users, then root), with real logins for a few
# accounts and the usual scanner noise.

INVALID_USERS = weighted([
    ("admin", 20), ("test", 10), ("user", 10), ("ubuntu", 8), ("oracle", 5),
    ("postgres", 5), ("git", 5), ("guest", 4), ("ftpuser", 4), ("pi", 4),
    ("support", 3), ("deploy", 3), ("hadoop", 2), ("mysql", 3), ("jenkins", 2),
    ("ansible", 2), ("steam", 2), ("minecraft", 2), ("debian", 2), ("centos", 2),
    ("nagios", 1), ("tomcat", 1), ("www", 1), ("dev", 2), ("sol", 2),
    ("validator", 1), ("es", 1), ("teamspeak", 1), ("123456", 1), ("a", 1),
])
REAL_USERS = weighted([("deploy", 5), ("alice", 3), ("bob", 2), ("git", 4),
                       ("backup", 2), ("ops", 2)])
KEY_FPS = ("RSA SHA256:q6Nv2R0o6M6C5yEAk8Xbqw5hT7oNg0wQJ1x0m2pVhKs",
           "ED25519 SHA256:8hYH1zqk3L7X1vC9mYq3WQ7b0G2aPmtl1bq9p8w5J7E",
           "ED25519 SHA256:Zc0r1cV4hBmgbR3x4wQd6Vn2yK8sJ5aT9uLkP0eXo1M",
           "ECDSA SHA256:Pq3fJk2mN8vXr1bW6tYc0zL4hG7sD9aE5uK2oI3nM8Q")


def sshd_session(rng, attackers, insiders, host_fmt):
    """Return the messages of one connection (without the syslog header)."""
    rnd = rng.random
    r = rnd()
    if r < 0.94:
        ip = attackers[int(rnd() * len(attackers))]
    else:
        ip = insiders[int(rnd() * len(insiders))]
    port = 1024 + int(rnd() * 64000)
    ipp = "%s port %d" % (ip, port)
    msgs = []
    if r < 0.42:
        # Invalid user, password guessed once or a few times.
        u = INVALID_USERS[int(rnd() * len(INVALID_USERS))]
        msgs.append("Invalid user %s from %s" % (u, ipp))
        tries = 1 if rnd() < 0.7 else 2 + int(rnd() * 3)
        for t in range(tries):
            if t == 0:
                msgs.append("pam_unix(sshd:auth): check pass; user unknown")
                msgs.append("pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                            "euid=0 tty=ssh ruser= rhost=%s " % ip)
            msgs.append("Failed password for invalid user %s from %s ssh2" % (u, ipp))
        if tries > 1 and rnd() < 0.5:
            msgs.append("Connection closed by invalid user %s %s [preauth]" % (u, ipp))
        else:
            msgs.append("Received disconnect from %s:11: Bye Bye [preauth]" % ipp)
            msgs.append("Disconnected from invalid user %s %s [preauth]" % (u, ipp))
    elif r < 0.64:
        # Root guessing.
        tries = 1 if rnd() < 0.6 else 2 + int(rnd() * 4)
        msgs.append("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                    "tty=ssh ruser= rhost=%s  user=root" % ip)
        for _ in range(tries):
            msgs.append("Failed password for root from %s ssh2" % ipp)
        if tries >= 5:
            msgs.append("error: maximum authentication attempts exceeded for root from %s "
                        "ssh2 [preauth]" % ipp)
            msgs.append("Disconnecting authenticating user root %s: Too many authentication "
                        "failures [preauth]" % ipp)
        elif rnd() < 0.6:
            msgs.append("Received disconnect from %s:11: Bye Bye [preauth]" % ipp)
            msgs.append("Disconnected from authenticating user root %s [preauth]" % ipp)
        else:
            msgs.append("Connection closed by authenticating user root %s [preauth]" % ipp)
    elif r < 0.94:
        # Scanners and half-open connections.
        s = rnd()
        if s < 0.45:
            msgs.append("Connection closed by %s [preauth]" % ipp)
        elif s < 0.65:
            msgs.append("Received disconnect from %s:11: Bye Bye [preauth]" % ipp)
            msgs.append("Disconnected from %s [preauth]" % ipp)
        elif s < 0.80:
            msgs.append("error: kex_exchange_identification: Connection closed by remote host")
            msgs.append("Connection closed by %s" % ipp)
        elif s < 0.90:
            msgs.append("Unable to negotiate with %s: no matching key exchange method found. "
                        "Their offer: diffie-hellman-group14-sha1,diffie-hellman-group1-sha1 "
                        "[preauth]" % ipp)
        elif s < 0.96:
            msgs.append("Connection reset by %s [preauth]" % ipp)
        else:
            msgs.append("reverse mapping checking getaddrinfo for %s [%s] failed - POSSIBLE "
                        "BREAK-IN ATTEMPT!" % (host_fmt % (1 + int(rnd() * 254)), ip))
            msgs.append("Connection closed by %s [preauth]" % ipp)
    else:
        # A real login from the office, by key mostly, with its session.
        u = REAL_USERS[int(rnd() * len(REAL_USERS))]
        uid = 1000 + REAL_USERS.index(u)
        if rnd() < 0.75:
            msgs.append("Accepted publickey for %s from %s ssh2: %s"
                        % (u, ipp, KEY_FPS[int(rnd() * len(KEY_FPS))]))
        else:
            if rnd() < 0.3:
                msgs.append("Failed password for %s from %s ssh2" % (u, ipp))
            msgs.append("Accepted password for %s from %s ssh2" % (u, ipp))
        msgs.append("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)"
                    % (u, uid))
        msgs.append("Received disconnect from %s:11: disconnected by user" % ipp)
        msgs.append("Disconnected from user %s %s" % (u, ipp))
        msgs.append("pam_unix(sshd:session): session closed for user %s" % u)
    return msgs


def gen_sshd(n, rng, out):
    rnd = rng.random
    attackers = make_clients(rng, 3000, 0.05)
    insiders = ["198.51.100.%d" % (10 + k) for k in range(8)] + \
               ["2001:db8:10::%x" % (0x20 + k) for k in range(4)]
    host = "bastion-01"
    host_fmt = "host-203-0-113-%d.example.net"
    header_fmt = "%s " + host + " sshd[%d]: %s\n"
    buf, flush = writer(out)
    active = []          # [pid, messages, next index]
    next_pid = 41230
    last_sec = -1
    stamp = ""
    step = DAY_SECONDS / n
    for i in range(n):
        sec = int(i * step)
        if sec != last_sec:
            last_sec = sec
            stamp = "%s 22 %s" % (MONTH, hms(sec))
        # Keep 1..6 sessions in flight.
        while len(active) < 1 + int(rnd() * 6):
            next_pid += 1 + int(rnd() * 40)
            if next_pid > 4194000:
                next_pid = 1000
            msgs = sshd_session(rng, attackers, insiders, host_fmt)
            active.append([next_pid, msgs, 0])
        k = int(rnd() * len(active))
        s = active[k]
        buf.append(header_fmt % (stamp, s[0], s[1][s[2]]))
        s[2] += 1
        if s[2] == len(s[1]):
            del active[k]
        if len(buf) >= CHUNK_LINES:
            flush()
    flush()


# --------------------------------------------------------------------------

def gen_ndjson(n, rng, out):
    rnd = rng.random
    clients = make_clients(rng, 4000, 0.12)
    reqs = make_requests(rng, 20000)
    nc, nr = len(clients), len(reqs)
    uas = API_UAS
    nua, nst, nm = len(uas), len(STATUSES), len(METHODS)
    buf, flush = writer(out)
    step = DAY_SECONDS / n
    last_sec = -1
    day = ""
    fmt = ('{"@timestamp":"2026-11-22T%s.%03dZ","event":{"dataset":"nginx.access"},'
           '"source":{"ip":"%s"},"http":{"request":{"method":"%s"},'
           '"response":{"status_code":%d,"body":{"bytes":%d}}},'
           '"url":{"original":"%s"},"user_agent":{"original":"%s"},'
           '"message":"%s %s %d"}\n')
    for i in range(n):
        t = i * step
        sec = int(t)
        if sec != last_sec:
            last_sec = sec
            day = hms(sec)
        ms = int((t - sec) * 1000)
        method = METHODS[int(rnd() * nm)]
        status = STATUSES[int(rnd() * nst)]
        target = reqs[int(rnd() * nr)]
        b = body_bytes(rnd, status, method)
        q = target.find("?")
        buf.append(fmt % (day, ms, clients[int(rnd() * nc)], method, status,
                          0 if b == "-" else int(b), target, uas[int(rnd() * nua)],
                          method, target if q < 0 else target[:q], status))
        if len(buf) >= CHUNK_LINES:
            flush()
    flush()


KINDS = {"combined": gen_combined, "sshd": gen_sshd, "ndjson": gen_ndjson}


def main():
    ap = argparse.ArgumentParser(description="Write seeded benchmark log lines to stdout.")
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("-n", "--lines", type=int, default=1000000,
                    help="number of lines (default 1000000)")
    ap.add_argument("-s", "--seed", type=int, default=1, help="random seed (default 1)")
    a = ap.parse_args()
    if a.lines < 0:
        ap.error("--lines must be >= 0")
    if a.lines == 0:
        return 0
    # Seed from kind and seed together so the three files differ.
    rng = random.Random("%s:%d" % (a.kind, a.seed))
    out = sys.stdout
    try:
        KINDS[a.kind](a.lines, rng, out)
        out.flush()
    except BrokenPipeError:
        # e.g. gen.py ... | head: exit quietly, like other filters.  Point
        # stdout at /dev/null so the flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
