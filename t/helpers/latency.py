#!/usr/bin/python3
"""latency.py PROGRAM [ARGS...] - the flush-on-idle promise: start PROGRAM
with a pipe on stdin whose writer stays open, write one line once it is
running, and time how long until the record comes out.  Prints
"latency N ms" and exits 0 when under 100 ms, else exits 1."""
import os
import select
import subprocess
import sys
import time

LIMIT_MS = 100.0


def main():
    proc = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        # Let it start and block on its input first: startup is not what
        # the promise is about.
        time.sleep(0.3)
        start = time.monotonic()
        proc.stdin.write(b"a=1\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        if not ready:
            print("no output within 5 s")
            return 1
        line = os.read(proc.stdout.fileno(), 65536)
        elapsed = (time.monotonic() - start) * 1000.0
        if not line.endswith(b"\n"):
            print("partial record: %r" % line)
            return 1
        print("latency %.1f ms" % elapsed)
        return 0 if elapsed < LIMIT_MS else 1
    finally:
        proc.stdin.close()
        proc.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
