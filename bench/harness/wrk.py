"""The load generator: wrk's command line for a scenario, and what its report says."""
import os
import re
import subprocess
from dataclasses import dataclass

from . import procs

PIPELINE_LUA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipeline.lua")


@dataclass(frozen=True)
class Result:
    """One wrk run: replies per second, and the requests that went wrong (socket
    errors of any kind plus non-2xx/3xx replies)."""

    rps: float
    errors: int


def command(url, scenario, duration, threads=1, conns=None, cpu=None):
    """The argv and environment for one run of `scenario` against `url`."""
    argv = ["wrk", f"-t{threads}", f"-c{conns or scenario.conns}", f"-d{duration}s"]
    env = dict(os.environ)
    if scenario.depth > 1:
        argv += ["-s", PIPELINE_LUA]
        env["DEPTH"] = str(scenario.depth)
    return procs.pinned(argv + [url], cpu), env


def parse(text):
    """A wrk report -> Result. A report without "Requests/sec:" is an error
    (wrk failed: the message is in the text)."""
    rps = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if not rps:
        raise ValueError(f"no Requests/sec in wrk's output:\n{text}")
    errors = 0
    socket_errors = re.search(r"^\s*Socket errors:(.*)$", text, re.M)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", text, re.M)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return Result(float(rps.group(1)), errors)


def run(url, scenario, duration, threads=1, conns=None, cpu=None):
    """Runs wrk once and parses its report."""
    argv, env = command(url, scenario, duration, threads, conns, cpu)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 60)
    return parse(done.stdout + done.stderr)
