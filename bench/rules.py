#!/usr/bin/env python3
"""rules.py - rule sets for benchmarking anomaly-detect on gen.py's ndjson.

usage: python3 bench/rules.py N

Prints a rules file with N rules (N >= 30): first 30 written by hand the
way an operator would for nginx access events (status codes, methods,
scanners by user agent, paths, address blocks, byte counts, a regex or
two, thresholds grouped by client address), then N - 30 generated ones
(a path prefix and a status each, alternating match and threshold), as a
large site's rule set grows.  Standard library only; deterministic.
"""

import sys

HAND = r"""
  - {id: server-errors, type: threshold, severity: high, where: {http.response.status_code|gte: 500}, group_by: [url.original], threshold: 50, window: 5m, suppress: 10m, message: "{alert.count} server errors on {url.original}"}
  - {id: not-found-burst, type: threshold, where: {http.response.status_code: 404}, group_by: [source.ip], threshold: 100, window: 1m}
  - {id: forbidden, type: threshold, where: {http.response.status_code: [401, 403]}, group_by: [source.ip], threshold: 20, window: 5m}
  - {id: scanner-ua, type: match, severity: medium, where: {user_agent.original|contains: [sqlmap, nikto, masscan, zgrab, nuclei]}, suppress: 1h, group_by: [source.ip]}
  - {id: curl-ua, type: threshold, where: {user_agent.original|startswith: curl/}, group_by: [source.ip], threshold: 1000, window: 1m}
  - {id: wp-login, type: threshold, where: {url.original|startswith: /wp-login.php, http.request.method: POST}, group_by: [source.ip], threshold: 10, window: 5m}
  - {id: env-probe, type: match, severity: high, where: {url.original|contains: ['/.env', '/.git/', '/.aws/']}}
  - {id: traversal, type: match, severity: high, where: {url.original|contains: ['../', '%2e%2e']}}
  - {id: admin-path, type: match, where: {url.original|startswith: [/admin, /phpmyadmin, /manager/html]}, group_by: [source.ip], suppress: 30m}
  - {id: delete-method, type: match, where: {http.request.method: DELETE, http.response.status_code|lt: 300}}
  - {id: big-response, type: match, where: {http.response.body.bytes|gt: 50000000}}
  - {id: empty-200, type: threshold, where: {http.response.status_code: 200, http.response.body.bytes: 0}, group_by: [url.original], threshold: 500, window: 10m}
  - {id: internal-source, type: match, where: {source.ip|cidr: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}
  - {id: doc-net-a, type: threshold, where: {source.ip|cidr: 192.0.2.0/28}, group_by: [source.ip], threshold: 5000, window: 1m}
  - {id: v6-clients, type: threshold, where: {source.ip|cidr: '2001:db8::/32', http.response.status_code|gte: 400}, group_by: [source.ip], threshold: 200, window: 5m}
  - {id: sql-in-query, type: match, severity: critical, where: {url.original|re|i: 'union(\s|%20|\+)+select'}}
  - {id: shell-in-query, type: match, severity: critical, where: {url.original|re: ';(wget|curl)(%20|\+| )'}}
  - {id: api-errors, type: threshold, where: {url.original|startswith: /api/, http.response.status_code|gte: 500}, group_by: [url.original], threshold: 20, window: 1m}
  - {id: login-fail, type: threshold, where: {url.original|startswith: /login, http.response.status_code: 401}, group_by: [source.ip], threshold: 10, window: 10m}
  - {id: health-down, type: match, severity: critical, where: {url.original: /healthz, http.response.status_code|neq: 200}}
  - {id: options-flood, type: threshold, where: {http.request.method: OPTIONS}, group_by: [source.ip], threshold: 300, window: 1m}
  - {id: put-upload, type: threshold, where: {http.request.method: PUT}, group_by: [source.ip], threshold: 100, window: 10m}
  - {id: bot-ua, type: threshold, where: {user_agent.original|contains: bot}, group_by: [user_agent.original], threshold: 5000, window: 10m}
  - {id: no-ua, type: threshold, where: {user_agent.original|exists: false}, group_by: [source.ip], threshold: 50, window: 5m}
  - {id: teapot, type: match, where: {http.response.status_code: 418}}
  - {id: gone, type: threshold, where: {http.response.status_code: 410}, group_by: [url.original], threshold: 100, window: 1h}
  - {id: redirect-loop, type: threshold, where: {http.response.status_code: [301, 302, 307, 308]}, group_by: [source.ip, url.original], threshold: 50, window: 1m}
  - {id: search-abuse, type: threshold, where: {url.original|startswith: /api/v1/search}, group_by: [source.ip], threshold: 600, window: 1m}
  - id: exploit-paths
    type: match
    severity: high
    detection:
      cgi: {url.original|contains: [/cgi-bin/, .cgi]}
      shells: {url.original|endswith: [.php, .asp, .aspx, .jsp]}
      fine: {http.response.status_code: 404}
      condition: (cgi or shells) and not fine
  - id: dataset-guard
    type: match
    detection:
      nginx: {event.dataset: nginx.access}
      weird: {http.request.method|re: '^[a-z]'}
      condition: nginx and weird
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    if n < 30:
        sys.exit("rules.py: N must be at least 30")
    out = ["rules:" + HAND.rstrip("\n")]
    for i in range(n - 30):
        status = (200, 301, 404, 500, 503)[i % 5]
        if i % 2:
            out.append("  - {id: gen-%d, type: match, where: {url.original|startswith: /section%d/, "
                       "http.response.status_code: %d}}" % (i, i, status))
        else:
            out.append("  - {id: gen-%d, type: threshold, where: {url.original|startswith: /section%d/, "
                       "http.response.status_code: %d}, group_by: [source.ip], threshold: 10, window: 1m}"
                       % (i, i, status))
    print("\n".join(out))


main()
