#!/usr/bin/env python3
"""Memory under slowloris: CONNS connections each trickle a request head one
byte per second for SECONDS, while porter's RSS is sampled from /proc/PID/status.

Prints one summary line: connections opened, still open at the end, closed by
porter (and how many of those got a 408 first), RSS before connecting, peak RSS
and RSS at the end, and the peak RSS per open connection above the baseline.

    trickle.py --port 8080 --pid 1234 --conns 1000 --seconds 30 [--label ...]
"""

import argparse
import asyncio
import os
import sys
import time

# RSS as porter's bench harness reads it (bench/harness/procs.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.procs import rss_kib  # noqa: E402

# A head that never ends within the test: one byte a second.
HEAD = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: " + b"a" * 4096


class Stats:
    def __init__(self):
        self.opened = self.open = self.closed = self.got_408 = self.connect_failed = 0


async def trickle(port, deadline, stats):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats.connect_failed += 1
        return
    stats.opened += 1
    stats.open += 1
    read = asyncio.ensure_future(reader.read(4096))
    closed_by_porter = False
    try:
        for i in range(len(HEAD)):
            if time.monotonic() >= deadline:
                break
            writer.write(HEAD[i : i + 1])
            try:
                await writer.drain()
            except OSError:
                closed_by_porter = True
                break
            done, _ = await asyncio.wait({read}, timeout=1.0)
            if done:
                closed_by_porter = True
                if not read.exception() and read.result().startswith(b"HTTP/1.1 408"):
                    stats.got_408 += 1
                break
    finally:
        if closed_by_porter:
            stats.closed += 1
            stats.open -= 1
        read.cancel()
        writer.close()


async def main_async(args):
    stats = Stats()
    baseline = rss_kib(args.pid)
    deadline = time.monotonic() + args.seconds
    tasks = []
    for _ in range(args.conns):
        tasks.append(asyncio.ensure_future(trickle(args.port, deadline, stats)))
        await asyncio.sleep(0.002)  # ~500 connections a second
    peak = baseline
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(args.pid))
        await asyncio.sleep(0.5)
    end_rss = rss_kib(args.pid)
    open_at_end = stats.open
    await asyncio.gather(*tasks, return_exceptions=True)
    per_conn = (peak - baseline) / max(1, stats.opened)
    print(
        f"{args.label:<10} conns={args.conns} opened={stats.opened} connect_failed={stats.connect_failed} "
        f"open_at_end={open_at_end} closed_by_porter={stats.closed} got_408={stats.got_408} "
        f"rss_before={baseline / 1024:.1f}MiB rss_peak={peak / 1024:.1f}MiB rss_end={end_rss / 1024:.1f}MiB "
        f"peak_per_conn={per_conn:.2f}KiB",
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--label", default="trickle")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
