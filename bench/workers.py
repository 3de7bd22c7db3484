#!/usr/bin/env python3
"""Multi-worker plaintext: porter's `hello` with N worker loops against nginx with
N worker processes, both unpinned (the kernel schedules servers and wrk on every
core, the same for both), alternating rounds, medians and the ratio.

  bench/workers.py                  # 2 workers, 3 rounds of 4 s
  bench/workers.py --workers 2 --rounds 5 --duration 6

Reuses ../shared/bench (nginx.conf, pipeline.lua) with worker_processes patched.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.environ.get("SHARED", os.path.join(REPO, "..", "shared", "bench"))


def wait_port(port, proc):
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"server on {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"server on {port} did not listen")


def nginx_conf(port, workers):
    conf = open(os.path.join(SHARED, "nginx.conf")).read()
    conf = conf.replace("9101", str(port)).replace("worker_processes 1;", f"worker_processes {workers};")
    conf = conf.replace("/tmp/bench-nginx.pid", os.path.join(tempfile.gettempdir(), "bench-nginx-workers.pid"))
    path = os.path.join(tempfile.gettempdir(), "bench-nginx-workers.conf")
    open(path, "w").write(conf)
    return path


def wrk(port, conns, duration, pipelined):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s"]
    env = dict(os.environ)
    if pipelined:
        cmd += ["-s", os.path.join(SHARED, "pipeline.lua")]
        env["DEPTH"] = "16"
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}/plaintext"], capture_output=True, text=True,
                         env=env, timeout=duration + 30).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--conns", type=int, default=128)
    ap.add_argument("--pipelined", action="store_true")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "porter", "--examples"], cwd=REPO, check=True)
    hello = os.path.join(REPO, "target", "release", "examples", "hello")
    servers = [("porter", [hello, "127.0.0.1:9201", str(args.workers)], 9201),
               ("nginx", ["nginx", "-c", nginx_conf(9202, args.workers)], 9202)]
    procs = {}
    try:
        for name, argv, port in servers:
            procs[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True)
            wait_port(port, procs[name])
        results = {name: [] for name, _, _ in servers}
        for r in range(args.rounds):
            for name, _, port in (servers if r % 2 == 0 else list(reversed(servers))):
                results[name].append(wrk(port, args.conns, args.duration, args.pipelined))
        mode = "pipelined" if args.pipelined else "plaintext"
        print(f"\n{mode}, {args.workers} workers each, unpinned (req/s, median of {args.rounds})")
        med = {}
        for name, vals in results.items():
            med[name] = statistics.median(vals)
            print(f"  {name:8s} {med[name]:12.1f}   runs: {', '.join(f'{v:.0f}' for v in vals)}")
        print(f"  porter/nginx = {med['porter'] / med['nginx']:.2f}" if med["nginx"] else "  nginx: no result")
    finally:
        for proc in procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs.values():
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
