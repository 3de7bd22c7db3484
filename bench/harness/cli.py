"""`bench/compare.py`: the harness's command line.

  compare.py run --server 'NAME[@SCENARIO,...]=COMMAND' ... [--peers limit,nginx,h2o]
                 [--scenarios plaintext,pipelined,static64k,static1m,idle]
                 [--rounds 3] [--duration 4] [--idle-conns 5000]
                 [--workers 1] [--no-pin] [--wrk-threads 1] [--conns N]
  compare.py conf nginx|h2o --port P --root DIR --work DIR [--workers N] [--tls-cert C --tls-key K]
  compare.py ensure COMMAND...

`run` starts every server (the --server ones first, then the peers) side by side,
each pinned to CPU 0, checks that each answers its scenarios' paths, measures
them with wrk pinned to CPU 1, round after round in alternating order, and prints
one table per scenario and the ratio table. In COMMAND, {port} and {root} are
replaced by the server's port and the static root. `conf` prints a peer's config
(for scripts that run nginx themselves); `ensure` installs missing programs.
"""
import argparse
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from . import idle, peers, procs, report, rounds, scenarios, tools, wrk


def parse_server(text):
    """'NAME[@SC,...]=COMMAND' -> (name, command, scenario names or None)."""
    head, sep, command = text.partition("=")
    name, _, only = head.partition("@")
    if not sep or not name.strip() or not command.strip():
        raise ValueError(f"--server wants NAME[@SCENARIO,...]=COMMAND, not {text!r}")
    names = frozenset(s.name for s in scenarios.parse_list(only)) if only else None
    return name.strip(), command.strip(), names


def subject_specs(texts, ports, root):
    """The Specs of the --server arguments, with {port} and {root} filled in
    (after splitting the command into words: a root with a space stays one word)."""
    specs = []
    for text, port in zip(texts, ports):
        name, command, only = parse_server(text)
        argv = tuple(word.format(port=port, root=root) for word in shlex.split(command))
        specs.append(peers.Spec(name, argv, only))
    return specs


def raise_nofile():
    """As many open files as the hard limit allows (up to 65536), for the idle
    scenario's connections; servers started after this inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def needed_tools(peer_names, pin):
    return ["wrk"] + (["taskset"] if pin else []) + [{"limit": "cc"}.get(p, p) for p in peer_names]


def header(args):
    where = (f"servers on CPU {procs.SERVER_CPU}, wrk on CPU {procs.CLIENT_CPU}"
             if args.pin and procs.SERVER_CPU is not None else "unpinned")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"porter bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.rounds} round(s) of "
            f"{args.duration} s, {where}, {os.cpu_count()} CPUs, load average {load} at the start")


class Bench:
    """One `run`: its work directory, its servers, and how each is measured."""

    def __init__(self, args):
        self.args = args
        self.scenarios = scenarios.parse_list(args.scenarios)
        self.peer_names = [p for p in args.peers.split(",") if p]
        self.work = tempfile.mkdtemp(prefix="porter-bench-")
        os.chmod(self.work, 0o755)
        self.root = os.path.join(self.work, "www")
        self.servers, self.specs = [], {}

    def start(self):
        scenarios.make_root(self.root)
        ports = [procs.free_port() for _ in self.args.server]
        specs = subject_specs(self.args.server, ports, self.root)
        for name in self.peer_names:
            port = procs.free_port()
            ports.append(port)
            specs.append(peers.spec(name, port, self.root, self.work, self.args.workers))
        if len({s.name for s in specs}) != len(specs):
            raise ValueError("two servers have the same name")
        cpu = procs.SERVER_CPU if self.args.pin else None
        for spec, port in zip(specs, ports):
            self.specs[spec.name] = spec
            log = os.path.join(self.work, f"{spec.name}.log")
            self.servers.append(procs.Server(spec.name, spec.argv, port, log, cpu))
        for server in self.servers:
            server.wait_listening()

    def takes_part(self, server, scenario):
        only = self.specs[server.name].scenarios
        return only is None or scenario.name in only

    def check(self):
        for scenario, _, server in rounds.schedule(self.scenarios, self.servers, 1, self.takes_part):
            try:
                rounds.check_answer(server.port, scenario)
            except (OSError, RuntimeError) as e:
                raise RuntimeError(f"{server.name}, {scenario.name}: {e}") from None

    def measure(self, server, scenario):
        if scenario.idle:
            return rounds.Run(idle.per_conn_kib(server.port, server.pid, self.args.idle_conns, scenario.path))
        cpu = procs.CLIENT_CPU if self.args.pin else None
        url = f"http://127.0.0.1:{server.port}{scenario.path}"
        result = wrk.run(url, scenario, self.args.duration, self.args.wrk_threads, self.args.conns, cpu)
        return rounds.Run(result.rps, result.errors)

    def run(self):
        results = rounds.run_all(self.scenarios, self.servers, self.args.rounds, self.takes_part, self.measure,
                                 log=lambda line: print(line, file=sys.stderr, flush=True))
        names = [s.name for s in self.servers]
        return report.report(self.scenarios, names, results, self.args.rounds, header(self.args))

    def close(self):
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def cmd_run(args):
    peer_names = [p for p in args.peers.split(",") if p]
    tools.ensure(needed_tools(peer_names, args.pin))
    raise_nofile()
    bench = Bench(args)
    try:
        bench.start()
        bench.check()
        print(bench.run())
    finally:
        bench.close()
    return 0


def cmd_conf(args):
    if args.peer == "nginx":
        tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
        print(peers.nginx_conf(args.port, args.root, args.work, args.workers, tls))
    else:
        print(peers.h2o_conf(args.port, args.root, args.work, args.workers))
    return 0


def cmd_ensure(args):
    tools.ensure(args.commands)
    return 0


def parser():
    ap = argparse.ArgumentParser(prog="compare.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure servers side by side")
    run.add_argument("--server", action="append", default=[], metavar="NAME[@SC,...]=COMMAND")
    run.add_argument("--peers", default="limit,nginx,h2o")
    run.add_argument("--scenarios", default="plaintext,pipelined,static64k,idle")
    run.add_argument("--rounds", type=int, default=3)
    run.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    run.add_argument("--idle-conns", type=int, default=5000)
    run.add_argument("--workers", type=int, default=1, help="nginx worker processes, h2o threads")
    run.add_argument("--no-pin", dest="pin", action="store_false", help="let the kernel place everything")
    run.add_argument("--wrk-threads", type=int, default=1)
    run.add_argument("--conns", type=int, default=None, help="connections for every load scenario")
    run.set_defaults(func=cmd_run)
    conf = sub.add_parser("conf", help="print a peer's config")
    conf.add_argument("peer", choices=["nginx", "h2o"])
    conf.add_argument("--port", type=int, required=True)
    conf.add_argument("--root", required=True)
    conf.add_argument("--work", required=True, help="directory for the pid file, logs and temp files")
    conf.add_argument("--workers", type=int, default=1)
    conf.add_argument("--tls-cert")
    conf.add_argument("--tls-key")
    conf.set_defaults(func=cmd_conf)
    ensure = sub.add_parser("ensure", help="install missing programs with apt-get")
    ensure.add_argument("commands", nargs="+", choices=sorted(tools.PACKAGES))
    ensure.set_defaults(func=cmd_ensure)
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
