"""Rounds: every scenario is measured ROUNDS times on every server taking part,
the servers' order reversed on every other round (A B C, C B A, A B C...) so that
no server always runs first or last after a given one. The measurement itself is
passed in, so the schedule can be tested without servers."""
import http.client
from dataclasses import dataclass, field
from typing import Dict, List, Tuple


@dataclass(frozen=True)
class Run:
    value: float
    errors: int = 0


@dataclass
class Results:
    """Runs per (scenario name, server name), in measuring order."""

    runs: Dict[Tuple[str, str], List[Run]] = field(default_factory=dict)

    def add(self, scenario, server, run):
        self.runs.setdefault((scenario, server), []).append(run)

    def values(self, scenario, server):
        return [r.value for r in self.runs.get((scenario, server), [])]

    def errors(self, scenario, server):
        return sum(r.errors for r in self.runs.get((scenario, server), []))


def order(servers, round_index):
    """The servers in the order round `round_index` (from 0) measures them."""
    return list(servers) if round_index % 2 == 0 else list(reversed(servers))


def rounds_for(scenario, rounds):
    """Idle memory is measured once: a second set of connections would find memory
    the allocator kept from the first."""
    return 1 if scenario.idle else rounds


def schedule(scenarios, servers, rounds, takes_part):
    """(scenario, round, server) in measuring order: scenario by scenario (a
    scenario's runs close together in time), then round by round."""
    for scenario in scenarios:
        taking = [s for s in servers if takes_part(s, scenario)]
        for r in range(rounds_for(scenario, rounds)):
            for server in order(taking, r):
                yield scenario, r, server


def check_answer(port, scenario):
    """One GET of the scenario's path: a server that does not answer it with 200
    and the expected body would be measured answering something else."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", scenario.path)
        reply = conn.getresponse()
        body = reply.read()
    finally:
        conn.close()
    if reply.status != 200 or len(body) != scenario.body_len:
        raise RuntimeError(f"port {port} answers GET {scenario.path} with {reply.status} and "
                           f"{len(body)} bytes (want 200 and {scenario.body_len})")


def run_all(scenarios, servers, rounds, takes_part, measure, log=lambda line: None):
    """Measures every (scenario, round, server) of the schedule with
    `measure(server, scenario) -> Run`; returns the Results."""
    results = Results()
    for scenario, r, server in schedule(scenarios, servers, rounds, takes_part):
        run = measure(server, scenario)
        results.add(scenario.name, server.name, run)
        errors = f" ({run.errors} errors)" if run.errors else ""
        log(f"{scenario.name} round {r + 1}: {server.name} {run.value:.2f} {scenario.unit}{errors}")
    return results
