#!/usr/bin/env python3
"""Aggregates the CPU samples of a JFR recording (bench/scale.sh SCALE_JFR=...).

    bench/jfr-top.py FILE.jfr [--after HH:MM:SS] [--before HH:MM:SS] [--top 30] [--prefix io.webrocket]

Prints, over the jdk.ExecutionSample events (optionally only those between two UTC times of
day, e.g. the KA part's window from the generator log): the samples per thread, the top frames
by self samples (the method on CPU), and by inclusive samples (on the stack), and the first
frame under --prefix (our code that led there). Needs `jfr` (the JDK's) on the PATH.
"""
import argparse
import collections
import json
import subprocess
import sys


def frames_of(event):
    st = event["values"].get("stackTrace") or {}
    out = []
    for f in st.get("frames", []):
        m = f.get("method") or {}
        t = (m.get("type") or {}).get("name", "?")
        out.append(t + "." + m.get("name", "?"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--after", help="UTC time of day HH:MM:SS; samples before it are left out")
    ap.add_argument("--before", help="UTC time of day HH:MM:SS; samples after it are left out")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--prefix", default="io.webrocket")
    ap.add_argument("--depth", type=int, default=64)
    a = ap.parse_args()
    raw = subprocess.run(["jfr", "print", "--json", "--stack-depth", str(a.depth), "--events", "jdk.ExecutionSample", a.file],
                         check=True, capture_output=True, text=True).stdout
    events = json.loads(raw)["recording"]["events"]
    selfc, incl, ours, threads = (collections.Counter() for _ in range(4))
    n = 0
    for e in events:
        t = e["values"].get("startTime", "")  # 2026-12-07T20:10:11.123456789Z (or with an offset)
        tod = t[11:19]
        if a.after and tod < a.after:
            continue
        if a.before and tod > a.before:
            continue
        fr = frames_of(e)
        if not fr:
            continue
        n += 1
        th = (e["values"].get("sampledThread") or {}).get("javaName") or "?"
        threads[th.rstrip("0123456789-")] += 1
        selfc[fr[0]] += 1
        for m in set(fr):
            incl[m] += 1
        mine = next((m for m in fr if m.startswith(a.prefix)), "(none of ours)")
        ours[mine] += 1
    print(f"{n} samples")

    def show(title, c):
        print(f"\n== {title}")
        for m, k in c.most_common(a.top):
            print(f"{k:7d} {100.0 * k / max(n, 1):5.1f}%  {m}")

    show("threads", threads)
    show("self (on CPU)", selfc)
    show("inclusive (on the stack)", incl)
    show(f"first {a.prefix} frame", ours)


if __name__ == "__main__":
    sys.exit(main())
