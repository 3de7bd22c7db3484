#!/usr/bin/env python3
"""Scale: hold N concurrent keep-alive connections on one porter worker and
answer every one of them twice; report porter's memory per idle connection.

  bench/scale.py                       # 10,000 connections, porter binary, 1 thread
  bench/scale.py --conns 20000 --threads 2

Raises RLIMIT_NOFILE (for itself and porter) as far as the hard limit allows.
Loopback only; bounded count; stops by itself. Uses porter's bench harness
(bench/harness/) to start porter, hold the connections and read its memory.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness import idle, procs  # noqa: E402

REQUEST = idle.request("/plaintext")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.conns + 1024)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.conns + 64:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.conns} connections")
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "porter-cli"], cwd=REPO, check=True)
    exe = os.path.join(REPO, "target", "release", "porter")
    port = args.port or procs.free_port()
    log = os.path.join(tempfile.gettempdir(), f"porter-scale-{port}.log")
    server = procs.Server("porter", [exe, "--listen", f"127.0.0.1:{port}", "--threads", str(args.threads),
                                     "--no-access-log", "--max-connections", str(args.conns + 100)], port, log)
    socks = []
    try:
        server.wait_listening()
        before = procs.rss_kib(server.pid)
        start = time.time()
        socks = idle.connect_all(port, args.conns)
        first = idle.answer_all(socks, REQUEST)
        time.sleep(0.5)
        held = procs.rss_kib(server.pid)
        second = idle.answer_all(socks, REQUEST)
        took = time.time() - start
        print(f"connections held:        {len(socks)}")
        print(f"answered (1st, 2nd):     {first}, {second}")
        print(f"porter RSS before/held:  {before} KiB / {held} KiB")
        print(f"memory per idle conn:    {(held - before) / max(len(socks), 1):.2f} KiB")
        print(f"wall time:               {took:.1f} s")
        if first != len(socks) or second != len(socks):
            sys.exit("not every connection was answered (porter closed some?)")
    finally:
        for s in socks:
            s.close()
        server.stop()
        os.unlink(log)


if __name__ == "__main__":
    main()
