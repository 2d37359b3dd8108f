#!/usr/bin/env python3
"""latency.py - how long one record takes through a filter when records come
one at a time (a slow live stream), as percentiles.

usage: latency.py -i FILE [-n N] [-g GAP_MS] [-c CPU] [-l LABEL]
                  [--target-p99-ms MS] -- CMD [ARG ...]

Starts CMD with pipes on stdin and stdout, lets it start (0.3 s), then
sends the first N lines of FILE one at a time: each line is written, then
its output line is awaited (select() and read()), then GAP_MS pass before
the next.  The time from write to the output's newline is one sample, so
it includes two pipe hops and this script's own reading: an upper bound
on what CMD adds.  CMD must write one line per line read (rate-gate: use
--exceed tag).  With -c and taskset(1), CMD runs pinned to CPU.

Prints one line:
  LABEL: N records one at a time: p50 X ms, p99 Y ms, max Z ms [target]
Exit status 0; 1 when the p99 target is missed; 2 when CMD failed, wrote
no line within 5 s, or exited non-zero.  Standard library only.
"""

import argparse
import os
import select
import shutil
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-i", "--input", required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-g", "--gap-ms", type=float, default=1.0)
    ap.add_argument("-c", "--cpu")
    ap.add_argument("-l", "--label")
    ap.add_argument("--target-p99-ms", type=float)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not argv:
        ap.error("no command")
    label = a.label or " ".join(argv)
    if a.cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(a.cpu)] + argv
    lines = []
    with open(a.input, "rb") as f:
        for ln in f:
            lines.append(ln if ln.endswith(b"\n") else ln + b"\n")
            if len(lines) >= a.n:
                break
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = p.stdout.fileno()
    samples = []
    pending = b""
    try:
        time.sleep(0.3)
        for ln in lines:
            t0 = time.perf_counter()
            os.write(p.stdin.fileno(), ln)
            while b"\n" not in pending:
                r, _, _ = select.select([out], [], [], 5.0)
                if not r:
                    print("%s: no output within 5 s" % label)
                    return 2
                b = os.read(out, 65536)
                if not b:
                    print("%s: output ended early" % label)
                    return 2
                pending += b
            samples.append(time.perf_counter() - t0)
            pending = pending[pending.index(b"\n") + 1:]
            if a.gap_ms > 0:
                time.sleep(a.gap_ms / 1000.0)
    finally:
        p.stdin.close()
        p.stdout.close()
        rc = p.wait(timeout=10)
    if rc != 0:
        print("%s: exit status %d" % (label, rc))
        return 2
    samples.sort()
    n = len(samples)

    def pct(q):
        return samples[min(n - 1, int(q * n))] * 1000.0

    p99 = pct(0.99)
    verdict = ""
    status = 0
    if a.target_p99_ms:
        ok = p99 < a.target_p99_ms
        verdict = "  target p99 < %g ms: %s" % (a.target_p99_ms, "PASS" if ok else "FAIL")
        status = 0 if ok else 1
    print("%s: %d records one at a time: p50 %.3f ms, p99 %.3f ms, max %.3f ms%s"
          % (label, n, pct(0.50), p99, samples[-1] * 1000.0, verdict))
    return status


if __name__ == "__main__":
    sys.exit(main())
