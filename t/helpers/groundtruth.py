#!/usr/bin/python3
"""groundtruth.py KIND CSV EVENTS - check event-decode's events against
loghub's hand-checked parse of the same log (the *_structured.csv beside
it).  KIND is openssh, linux or apache.  Prints each disagreement and
exits 1 if there is any; prints "N lines agree" otherwise."""
import csv
import json
import sys


def get(event, path):
    for part in path.split("."):
        event = event.get(part) if isinstance(event, dict) else None
    return event


def expected(kind, row):
    if kind == "openssh":
        return {"host.name": row["Component"], "process.name": "sshd",
                "process.pid": int(row["Pid"]), "message": row["Content"]}
    if kind == "linux":
        return {"host.name": row["Level"], "process.name": row["Component"],
                "process.pid": int(row["PID"]) if row["PID"] else None,
                "message": row["Content"]}
    if kind == "apache":
        return {"log.level": row["Level"], "message": row["Content"]}
    raise SystemExit("unknown kind " + kind)


def main():
    kind, csv_path, events_path = sys.argv[1:4]
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(events_path, encoding="utf-8") as f:
        events = [json.loads(line) for line in f]
    if len(rows) != len(events):
        print(f"{len(events)} events for {len(rows)} ground-truth lines", file=sys.stderr)
        return 1
    bad = 0
    for row, event in zip(rows, events):
        for path, want in expected(kind, row).items():
            got = get(event, path)
            if got != want:
                bad += 1
                print(f"line {row['LineId']}: {path}: want {want!r}, got {got!r}",
                      file=sys.stderr)
    if bad:
        return 1
    print(f"{len(rows)} lines agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
