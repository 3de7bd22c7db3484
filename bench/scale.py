#!/usr/bin/env python3
"""Scale: hold N concurrent keep-alive connections on one porter worker and
answer every one of them twice; report porter's memory per idle connection.

  bench/scale.py                       # 10,000 connections, porter binary, 1 thread
  bench/scale.py --conns 20000 --threads 2

Raises RLIMIT_NOFILE (for itself and porter) as far as the hard limit allows.
Loopback only; bounded count; stops by itself.
"""
import argparse
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: scale\r\n\r\n"


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def answer_all(socks, timeout=60.0):
    """Sends one request on every socket and waits until each has a whole reply."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.sendall(REQUEST)
        sel.register(s, selectors.EVENT_READ, bytearray())
    done, deadline = 0, time.time() + timeout
    while done < len(socks) and time.time() < deadline:
        for key, _ in sel.select(timeout=1.0):
            data = key.data
            chunk = key.fileobj.recv(4096)
            if not chunk:
                sys.exit("porter closed a connection it should have kept")
            data.extend(chunk)
            if data.endswith(b"Hello, World!"):
                sel.unregister(key.fileobj)
                done += 1
    sel.close()
    return done


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--port", type=int, default=9301)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.conns + 1024)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.conns + 64:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.conns} connections")
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "porter-cli"], cwd=REPO, check=True)
    exe = os.path.join(REPO, "target", "release", "porter")
    proc = subprocess.Popen([exe, "--listen", f"127.0.0.1:{args.port}", "--threads", str(args.threads),
                             "--no-access-log", "--max-connections", str(args.conns + 100)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    socks = []
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.2)
        before = rss_kib(proc.pid)
        start = time.time()
        for _ in range(args.conns):
            socks.append(socket.create_connection(("127.0.0.1", args.port)))
        first = answer_all(socks)
        time.sleep(0.5)
        held = rss_kib(proc.pid)
        second = answer_all(socks)
        took = time.time() - start
        print(f"connections held:        {len(socks)}")
        print(f"answered (1st, 2nd):     {first}, {second}")
        print(f"porter RSS before/held:  {before} KiB / {held} KiB")
        print(f"memory per idle conn:    {(held - before) / max(len(socks), 1):.2f} KiB")
        print(f"wall time:               {took:.1f} s")
        if first != len(socks) or second != len(socks):
            sys.exit("not every connection was answered")
    finally:
        for s in socks:
            s.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
