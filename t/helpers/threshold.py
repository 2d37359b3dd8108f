#!/usr/bin/python3
"""threshold.py - an independent count of what a threshold rule must fire.

Usage: threshold.py GROUP_FIELD THRESHOLD WINDOW_S FIELD=VALUE... < events

Reads NDJSON events, keeps those whose dotted FIELDs equal the VALUEs
(case-insensitively, as plain selections compare), and applies DESIGN.md's
threshold semantics naively, holding every event time: per group, a window
at time t holds events with t - W < ts <= t; when the count reaches the
threshold an alert fires and the group's window empties.  Prints one line
per alert: "group count first last" with times in epoch milliseconds.
Written without looking at anomaly-detect's code, to check it.
"""

import datetime
import json
import sys


def get(event, path):
    for step in path.split("."):
        if not isinstance(event, dict) or step not in event:
            return None
        event = event[step]
    return event


def ms(stamp):
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


def main():
    group, threshold, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * 1000
    wants = [a.split("=", 1) for a in sys.argv[4:]]
    windows = {}
    for line in sys.stdin:
        event = json.loads(line)
        if any(str(get(event, f)).lower() != v.lower() for f, v in wants):
            continue
        key = get(event, group)
        ts = ms(event["@timestamp"])
        held = [t for t in windows.get(key, []) if ts - window < t] + [ts]
        if len(held) >= threshold:
            print(key, len(held), min(held), max(held))
            held = []
        windows[key] = held


main()
