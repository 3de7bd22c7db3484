"""Servers as processes: pinned to a core, started in their own process group,
waited for until they listen, stopped with their children; their memory."""
import os
import signal
import socket
import subprocess
import time

# Servers on CPU 0, wrk on CPU 1, when there are two CPUs; no pinning otherwise.
SERVER_CPU, CLIENT_CPU = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)


def pinned(argv, cpu):
    """argv run under `taskset -c cpu`, or as is when cpu is None."""
    return argv if cpu is None else ["taskset", "-c", str(cpu)] + list(argv)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running server: its name, port, process and log file."""

    def __init__(self, name, argv, port, log_path, cpu=None):
        self.name, self.port, self.log_path = name, port, log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(pinned(argv, cpu), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def wait_listening(self, timeout=20.0):
        """Returns once the port accepts a connection; raises if the server exits or
        does not listen in time (with the end of its log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on port {self.port} in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def rss_kib(pid):
    """Resident memory of a process and all its descendants, in KiB (0 if gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return total
