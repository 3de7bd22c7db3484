#!/usr/bin/env python3
"""An ordinary client, run while porter is under a slow-client attack.

Every INTERVAL seconds for SECONDS it opens a new connection, sends one GET and
reads the reply (timeout 5 s), then prints one summary line: requests made,
successes (status 200 and a complete body), failures, latency percentiles, and
the peak RSS of porter's process (sampled from /proc/PID/status).

    probe.py --port 8080 --path /index.html --seconds 30 --pid 1234 [--label slowloris]
"""

import argparse
import http.client
import os
import sys
import time

# RSS as porter's bench harness reads it (bench/harness/procs.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.procs import rss_kib  # noqa: E402


def one_request(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        reply = conn.getresponse()
        reply.read()
        return reply.status == 200
    finally:
        conn.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--label", default="probe")
    args = ap.parse_args()

    ok = failed = 0
    latencies = []
    rss_peak = rss_kib(args.pid) if args.pid else 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            success = one_request(args.port, args.path)
        except (OSError, http.client.HTTPException):
            success = False
        elapsed = time.monotonic() - start
        if success:
            ok += 1
            latencies.append(elapsed * 1000)
        else:
            failed += 1
        if args.pid:
            rss_peak = max(rss_peak, rss_kib(args.pid))
        time.sleep(max(0.0, args.interval - elapsed))
    latencies.sort()
    print(
        f"{args.label:<10} requests={ok + failed} ok={ok} failed={failed} "
        f"p50={percentile(latencies, 50):.2f}ms p90={percentile(latencies, 90):.2f}ms "
        f"p99={percentile(latencies, 99):.2f}ms max={percentile(latencies, 100):.2f}ms "
        f"porter_rss_peak={rss_peak / 1024:.1f}MiB",
        flush=True,
    )


if __name__ == "__main__":
    main()
