#!/usr/bin/env python3
"""measure.py - time one filter command over a log file; print the table.

usage:
  measure.py run -i FILE -r RESULTS [-n RUNS] [-c CPU] [-l LABEL] [-f FORMAT]
                 [--target-lps N] [--target-rss-mib N] [--note TEXT] [--any-lines]
                 -- CMD [ARG ...]
  measure.py report RESULTS

run: starts CMD with stdin from FILE (--any-lines: CMD selects, and may
write fewer lines than it reads), once untimed (warm-up and check: its
output is counted through a pipe, its exit status and stderr kept), then RUNS
times timed with stdout and stderr on /dev/null.  For every run it takes the
wall time (time.perf_counter around fork+exec..wait) and user+sys CPU time
from the child's rusage (os.wait4()).  With -c and taskset(1) installed, CMD
runs as `taskset -c CPU CMD` (taskset execs CMD, so the rusage is CMD's).

Peak RSS comes from GNU time (`/usr/bin/time -f %M`, wrapped around the
command) when it is installed: ru_maxrss of a process forked from Python
counts Python's own RSS at the fork (Linux folds the pre-exec memory's high
water mark into maxrss), so a child of this script never shows less than
~15 MiB.  Without GNU time the RSS column is that upper bound and says so.
GNU time adds well under a millisecond of its own CPU and wall time per run.

--any-lines: the command writes fewer lines than it reads by design (a
filter that drops records), so the line count is reported, not checked.

It appends one JSON line to RESULTS and says how it went on stderr.

report: prints RESULTS as a table: medians of wall and CPU time, lines/s by
CPU and by wall, input MB/s by wall (MB = 10^6 bytes), the largest peak RSS
of all runs (MiB), and for rows that have targets PASS/FAIL.  Throughput
targets are judged on wall-clock lines/s.  Exit status 0; 1 when a row
missed its target; 2 when a command failed or wrote a number of lines other
than the number it read (CHECK).

Standard library only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def count_lines(path):
    lines = 0
    size = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            lines += b.count(b"\n")
            size += len(b)
    return lines, size


def gnu_time():
    """Path of GNU time, or None."""
    for t in ("/usr/bin/time", shutil.which("gtime")):
        if t and os.access(t, os.X_OK):
            try:
                v = subprocess.run([t, "--version"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            if b"GNU" in v:
                return t
    return None


def spawn(argv, stdin_path, stdout, stderr, rssfile=None):
    """Run argv to completion; return (status, wall s, cpu s, maxrss KiB, counted lines, bytes)."""
    if rssfile:
        open(rssfile, "w").close()
    with open(stdin_path, "rb") as fin:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=fin, stdout=stdout, stderr=stderr)
        out_lines = out_bytes = 0
        if stdout == subprocess.PIPE:
            fd = p.stdout.fileno()
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                out_lines += b.count(b"\n")
                out_bytes += len(b)
            p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    rss = ru.ru_maxrss
    if rssfile:
        # GNU time writes "Command exited with non-zero status N" (or
        # "terminated by signal") before the format's line.
        with open(rssfile) as f:
            last = (f.read().strip().splitlines() or ["-1"])[-1]
        try:
            rss = int(last)
        except ValueError:
            rss = -1
    return (p.returncode, t1 - t0, ru.ru_utime + ru.ru_stime, rss, out_lines, out_bytes)


def cmd_run(a):
    argv = list(a.cmd)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit("measure.py: no command")
    pinned = ""
    if a.cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(a.cpu)] + argv
        pinned = "cpu %s" % a.cpu
    gt = gnu_time()
    rssfile = None
    if gt:
        fd, rssfile = tempfile.mkstemp(prefix="sluice-bench-rss.")
        os.close(fd)
        argv = [gt, "-f", "%M", "-o", rssfile] + argv
    try:
        return measure(a, argv, pinned, rssfile, gt)
    finally:
        if rssfile:
            os.unlink(rssfile)


def measure(a, argv, pinned, rssfile, gt):
    lines, size = count_lines(a.input)
    label = a.label or " ".join(a.cmd)
    rec = {"label": label, "format": a.format or "", "input": a.input,
           "lines": lines, "bytes": size, "runs": a.runs, "pinned": pinned,
           "rss_from": "GNU time" if gt else "wait4",
           "target_lps": a.target_lps, "target_rss_mib": a.target_rss_mib,
           "note": a.note or "", "argv": argv, "any_lines": bool(a.any_lines)}
    sys.stderr.write("bench: %-34s %-9s %d lines " % (label, a.format or "", lines))
    sys.stderr.flush()

    # Warm-up and check run: output counted through a pipe.
    with tempfile.TemporaryFile() as err:
        try:
            st, wall, cpu, rss, olines, obytes = spawn(argv, a.input, subprocess.PIPE, err,
                                                       rssfile)
        except OSError as e:
            rec["error"] = "cannot run: %s" % e
            sys.stderr.write("cannot run: %s\n" % e)
            append(a.results, rec)
            return 1
        err.seek(0)
        errtext = err.read(4096).decode("utf-8", "replace")
        err.seek(0, 2)
        errsize = err.tell()
    rec.update(check_status=st, out_lines=olines, out_bytes=obytes,
               stderr_bytes=errsize,
               stderr_head=errtext.strip().splitlines()[:3])
    if st != 0:
        rec["error"] = "exit status %d" % st
        sys.stderr.write("check run failed: exit status %d\n" % st)
        for ln in rec["stderr_head"]:
            sys.stderr.write("  | %s\n" % ln)
        append(a.results, rec)
        return 1

    walls, cpus, rsss, statuses = [], [], [], []
    with open(os.devnull, "wb") as null:
        for _ in range(a.runs):
            st, wall, cpu, rss, _, _ = spawn(argv, a.input, null, null, rssfile)
            statuses.append(st)
            walls.append(wall)
            cpus.append(cpu)
            rsss.append(rss)
            sys.stderr.write(".")
            sys.stderr.flush()
    rec.update(walls=walls, cpus=cpus, maxrss_kib=rsss, statuses=statuses,
               wall=statistics.median(walls), cpu=statistics.median(cpus))
    if any(statuses):
        rec["error"] = "exit status %d in a timed run" % next(s for s in statuses if s)
    sys.stderr.write(" wall %.3f s, cpu %.3f s, rss %.1f MiB\n"
                     % (rec["wall"], rec["cpu"], max(rsss) / 1024))
    append(a.results, rec)
    return 0


def append(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def human(n):
    if n >= 10e6:
        return "%.1fM" % (n / 1e6)
    if n >= 1e6:
        return "%.2fM" % (n / 1e6)
    if n >= 1e3:
        return "%.0fk" % (n / 1e3)
    return "%.0f" % n


def cmd_report(a):
    recs = []
    with open(a.results) as f:
        for ln in f:
            if ln.strip():
                recs.append(json.loads(ln))
    head = ("program", "format", "lines", "wall s", "CPU s", "lines/s CPU",
            "lines/s wall", "MB/s", "RSS MiB", "target", "result")
    rows = [head]
    notes = []
    if any(r.get("rss_from") == "wait4" for r in recs):
        notes.append("RSS: GNU time (/usr/bin/time) is not installed, so RSS is ru_maxrss "
                     "of a child of Python, which includes Python's own RSS at the fork: an "
                     "upper bound, marked '<='; RSS targets are not judged")
    missed = broken = 0
    for r in recs:
        tgt = []
        if r.get("target_lps"):
            tgt.append(">=%s l/s" % human(r["target_lps"]))
        if r.get("target_rss_mib"):
            tgt.append("RSS<%g" % r["target_rss_mib"])
        target = ", ".join(tgt) if tgt else "-"
        if "wall" not in r:
            rows.append((r["label"], r["format"], "{:,}".format(r["lines"]), "-", "-", "-", "-",
                         "-", "-", target, "ERROR"))
            notes.append("%s (%s): %s%s" % (
                r["label"], r["format"], r.get("error", "no result"),
                "".join("\n      | " + x for x in r.get("stderr_head", []))))
            broken += 1
            continue
        wall, cpu = r["wall"], r["cpu"]
        lines = r["lines"]
        rss = max(r["maxrss_kib"]) / 1024
        lps_cpu = lines / cpu if cpu > 0 else float("inf")
        lps_wall = lines / wall
        mbs = r["bytes"] / wall / 1e6
        verdict = []
        if r.get("error"):
            broken += 1
            verdict.append("ERROR")
            notes.append("%s (%s): %s" % (r["label"], r["format"], r["error"]))
        if r.get("target_lps"):
            verdict.append("PASS" if lps_wall >= r["target_lps"] else "FAIL:l/s")
        bound = r.get("rss_from") == "wait4"
        if r.get("target_rss_mib") and not bound:
            verdict.append("PASS" if rss < r["target_rss_mib"] else "FAIL:RSS")
        # Collapse "PASS PASS" into one word; keep every failure.
        v = [x for x in verdict if x != "PASS"] or (["PASS"] if verdict else ["-"])
        result = " ".join(v)
        if "FAIL" in result:
            missed += 1
        if r.get("any_lines"):
            notes.append("%s (%s): wrote %d of %d lines (it drops lines by design)"
                         % (r["label"], r["format"], r.get("out_lines", -1), lines))
        elif r.get("out_lines") != lines:
            notes.append("%s (%s): wrote %d lines for %d input lines"
                         % (r["label"], r["format"], r.get("out_lines", -1), lines))
            result += " CHECK"
            broken += 1
        if r.get("stderr_bytes"):
            notes.append("%s (%s): %d bytes on stderr, first: %s" % (
                r["label"], r["format"], r["stderr_bytes"],
                (r.get("stderr_head") or [""])[0]))
        if r.get("note"):
            notes.append("%s (%s): %s" % (r["label"], r["format"], r["note"]))
        rows.append((r["label"], r["format"], "{:,}".format(lines), "%.3f" % wall,
                     "%.3f" % cpu, "{:,.0f}".format(lps_cpu), "{:,.0f}".format(lps_wall),
                     "%.1f" % mbs, ("<=%.1f" if bound else "%.1f") % rss, target, result))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    right = {2, 3, 4, 5, 6, 7, 8}
    out = []
    for k, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                 for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    print("\n".join(out))
    if notes:
        print()
        for n in notes:
            print("  * " + n)
    return 2 if broken else 1 if missed else 0


def main():
    ap = argparse.ArgumentParser(description="Time a filter command over a file.")
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run")
    r.add_argument("-i", "--input", required=True)
    r.add_argument("-r", "--results", required=True)
    r.add_argument("-n", "--runs", type=int, default=5)
    r.add_argument("-c", "--cpu", default=None)
    r.add_argument("-l", "--label")
    r.add_argument("-f", "--format")
    r.add_argument("--target-lps", type=float)
    r.add_argument("--target-rss-mib", type=float)
    r.add_argument("--note")
    r.add_argument("--any-lines", action="store_true",
                   help="CMD selects: it may write fewer lines than it reads")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("results")
    a = ap.parse_args()
    if a.what == "run":
        if a.runs < 1:
            ap.error("--runs must be at least 1")
        return cmd_run(a)
    return cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
