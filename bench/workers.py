#!/usr/bin/env python3
"""Multi-worker plaintext: porter's `hello` with N worker loops against nginx with
N worker processes, both unpinned (the kernel schedules servers and wrk on every
core, the same for both), wrk with two threads, alternating rounds, medians and
the ratio: porter's harness (bench/compare.py run --no-pin --workers N).

  bench/workers.py                  # 2 workers, 3 rounds of 4 s
  bench/workers.py --workers 2 --rounds 5 --duration 6 [--pipelined]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness import cli  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--conns", type=int, default=128)
    ap.add_argument("--pipelined", action="store_true")
    args = ap.parse_args()
    os.chdir(REPO)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "porter", "--examples"], check=True)
    return cli.main([
        "run", "--server", f"porter=target/release/examples/hello 127.0.0.1:{{port}} {args.workers}",
        "--peers", "nginx", "--workers", str(args.workers), "--no-pin", "--wrk-threads", "2",
        "--conns", str(args.conns), "--scenarios", "pipelined" if args.pipelined else "plaintext",
        "--rounds", str(args.rounds), "--duration", str(args.duration),
    ])


if __name__ == "__main__":
    sys.exit(main())
