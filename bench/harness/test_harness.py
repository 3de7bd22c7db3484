"""Unit tests of the harness's pure parts: statistics, wrk's report, the round
schedule, the ratio table, the --server syntax and the peers' configs. No server,
no wrk: run by scripts/test.sh as
`python3 -m unittest discover -s bench -t bench -p 'test_*.py'`."""
import math
import unittest

from harness import cli, idle, peers, procs, report, rounds, scenarios, stats, wrk

WRK_OK = """Running 4s test @ http://127.0.0.1:40001/plaintext
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.22ms    1.86ms  12.98ms   85.25%
    Req/Sec    95.61k     4.93k  102.35k    80.00%
  384468 requests in 4.01s, 47.68MB read
Requests/sec:  95877.31
Transfer/sec:     11.89MB
"""

WRK_ERRORS = """Running 4s test @ http://127.0.0.1:40001/64k.bin
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.01ms    0.86ms  10.98ms   75.25%
    Req/Sec    20.11k     1.93k   22.35k    70.00%
  80468 requests in 4.00s, 4.91GB read
  Socket errors: connect 0, read 12, write 3, timeout 1
  Non-2xx or 3xx responses: 40
Requests/sec:  20117.02
Transfer/sec:      1.23GB
"""

PLAIN, PIPE, S64, IDLE = (scenarios.SCENARIOS[n] for n in ("plaintext", "pipelined", "static64k", "idle"))


class Named:
    def __init__(self, name):
        self.name = name


class StatsTest(unittest.TestCase):
    def test_median_of_odd_and_even_counts_skips_nan(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(stats.median([5, math.nan, 1, 3]), 3)
        self.assertTrue(math.isnan(stats.median([])))

    def test_spread_is_range_over_median(self):
        self.assertAlmostEqual(stats.spread([90, 100, 110]), 0.2)
        self.assertEqual(stats.spread([7]), 0)
        self.assertTrue(math.isnan(stats.spread([])))

    def test_ratio_of_missing_or_zero_is_nan(self):
        self.assertEqual(stats.ratio(3, 2), 1.5)
        self.assertTrue(math.isnan(stats.ratio(1, 0)))
        self.assertTrue(math.isnan(stats.ratio(math.nan, 2)))


class WrkTest(unittest.TestCase):
    def test_parse_clean_report(self):
        self.assertEqual(wrk.parse(WRK_OK), wrk.Result(95877.31, 0))

    def test_parse_counts_socket_errors_and_bad_statuses(self):
        self.assertEqual(wrk.parse(WRK_ERRORS), wrk.Result(20117.02, 12 + 3 + 1 + 40))

    def test_parse_without_requests_per_second_is_an_error(self):
        with self.assertRaises(ValueError):
            wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")

    def test_command_pipelines_with_the_lua_script_and_pins(self):
        argv, env = wrk.command("http://h/p", PIPE, 4, cpu=1)
        self.assertEqual(argv[:4], ["taskset", "-c", "1", "wrk"])
        self.assertIn("-c64", argv)
        self.assertEqual(argv[argv.index("-s") + 1], wrk.PIPELINE_LUA)
        self.assertEqual(env["DEPTH"], "16")
        argv, _ = wrk.command("http://h/p", PLAIN, 4, threads=2, conns=128)
        self.assertEqual(argv, ["wrk", "-t2", "-c128", "-d4s", "http://h/p"])


class RoundsTest(unittest.TestCase):
    def test_order_alternates(self):
        self.assertEqual(rounds.order("abc", 0), ["a", "b", "c"])
        self.assertEqual(rounds.order("abc", 1), ["c", "b", "a"])
        self.assertEqual(rounds.order("abc", 2), ["a", "b", "c"])

    def test_schedule_skips_servers_outside_a_scenario_and_measures_idle_once(self):
        servers = [Named("porter"), Named("limit"), Named("nginx")]
        only = {"limit": {"plaintext"}}
        takes = lambda s, sc: s.name not in only or sc.name in only[s.name]  # noqa: E731
        got = [(sc.name, r, s.name) for sc, r, s in rounds.schedule([PLAIN, IDLE], servers, 2, takes)]
        self.assertEqual(got, [
            ("plaintext", 0, "porter"), ("plaintext", 0, "limit"), ("plaintext", 0, "nginx"),
            ("plaintext", 1, "nginx"), ("plaintext", 1, "limit"), ("plaintext", 1, "porter"),
            ("idle", 0, "porter"), ("idle", 0, "nginx"),
        ])

    def test_run_all_records_each_measurement(self):
        values = iter([10.0, 20.0, 21.0, 11.0])
        results = rounds.run_all([PLAIN], [Named("a"), Named("b")], 2, lambda s, sc: True,
                                 lambda s, sc: rounds.Run(next(values), 1 if s.name == "b" else 0))
        self.assertEqual(results.values("plaintext", "a"), [10.0, 11.0])
        self.assertEqual(results.values("plaintext", "b"), [20.0, 21.0])
        self.assertEqual(results.errors("plaintext", "b"), 2)


def sample_results():
    r = rounds.Results()
    for value in (100, 120, 110):
        r.add("plaintext", "porter", rounds.Run(value))
    for value in (90, 88, 100):
        r.add("plaintext", "nginx", rounds.Run(value))
    r.add("plaintext", "limit", rounds.Run(125))
    r.add("static64k", "files", rounds.Run(50))
    r.add("static64k", "nginx", rounds.Run(40, errors=3))
    r.add("idle", "files", rounds.Run(0.5))
    r.add("idle", "nginx", rounds.Run(0.25))
    return r


class ReportTest(unittest.TestCase):
    names = ["porter", "files", "limit", "nginx"]

    def test_ratios_put_the_first_server_over_each_other(self):
        subject, row = report.ratios(PLAIN, self.names, sample_results())
        self.assertEqual(subject, "porter")
        self.assertEqual(row, {"limit": 110 / 125, "nginx": 110 / 90})

    def test_ratio_table_rows_and_columns(self):
        lines = report.ratio_table([PLAIN, S64, IDLE], self.names, sample_results())
        self.assertEqual(lines[1].split(), ["scenario", "server", "/", "limit", "/", "nginx"])
        self.assertEqual(lines[2].split(), ["plaintext", "porter", "0.88x", "1.22x"])
        self.assertEqual(lines[3].split(), ["static64k", "files", "-", "1.25x"])
        self.assertEqual(lines[4].split()[:4], ["idle", "files", "-", "2.00x"])
        self.assertIn("lower is better", lines[4])

    def test_scenario_table_shows_median_spread_runs_and_errors(self):
        lines = report.scenario_table(S64, self.names, sample_results(), 3)
        self.assertEqual(lines[3].split(), ["files", "50", "0%", "50"])
        self.assertEqual(lines[4].split(), ["nginx", "40", "0%", "40", "ERRORS:", "3"])
        lines = report.scenario_table(PLAIN, self.names, sample_results(), 3)
        self.assertEqual(lines[3].split(), ["porter", "110", "18%", "100", "120", "110"])


class CliTest(unittest.TestCase):
    def test_parse_server_with_and_without_scenarios(self):
        self.assertEqual(cli.parse_server("hello=bin/hello {port}"), ("hello", "bin/hello {port}", None))
        self.assertEqual(cli.parse_server("p@plaintext,idle=x --a=b"),
                         ("p", "x --a=b", frozenset({"plaintext", "idle"})))

    def test_parse_server_rejects_bad_syntax_and_unknown_scenarios(self):
        for bad in ("no-command", "=cmd", "x@plaintext,nope=cmd"):
            with self.assertRaises(ValueError, msg=bad):
                cli.parse_server(bad)

    def test_subject_specs_fill_in_port_and_root(self):
        (spec,) = cli.subject_specs(["p@static64k=porter --listen 127.0.0.1:{port} --root {root}"], [4321], "/w w")
        self.assertEqual(spec.argv, ("porter", "--listen", "127.0.0.1:4321", "--root", "/w w"))


class PeersTest(unittest.TestCase):
    def test_nginx_conf_plain_and_tls(self):
        conf = peers.nginx_conf(4321, "/srv/www", "/tmp/w", workers=2)
        self.assertIn("listen 127.0.0.1:4321 reuseport", conf)
        self.assertIn("worker_processes 2;", conf)
        self.assertIn("root /srv/www;", conf)
        self.assertNotIn("$", conf)
        tls = peers.nginx_conf(4321, "/srv/www", "/tmp/w", tls=("/c.pem", "/k.pem"))
        self.assertIn("listen 127.0.0.1:4321 ssl reuseport", tls)
        self.assertIn("ssl_certificate /c.pem; ssl_certificate_key /k.pem;", tls)

    def test_h2o_conf(self):
        conf = peers.h2o_conf(4321, "/srv/www", "/tmp/w")
        self.assertIn("port: 4321\n", conf)
        self.assertIn("file.dir: /srv/www\n", conf)
        self.assertNotIn("$", conf)

    def test_unknown_peer(self):
        with self.assertRaises(ValueError):
            peers.spec("apache", 1, "/r", "/w")


class MiscTest(unittest.TestCase):
    def test_scenario_list(self):
        self.assertEqual([s.name for s in scenarios.parse_list("idle, plaintext")], ["idle", "plaintext"])
        with self.assertRaises(ValueError):
            scenarios.parse_list("plaintext,fast")

    def test_static_files_have_their_sizes(self):
        for name, size in scenarios.FILES.items():
            self.assertEqual(len(scenarios.file_bytes(name, size)), size)

    def test_reply_complete_waits_for_the_whole_body(self):
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        self.assertFalse(idle.reply_complete(head[:-2]))
        self.assertFalse(idle.reply_complete(head + b"abc"))
        self.assertTrue(idle.reply_complete(head + b"abcde"))

    def test_pinned(self):
        self.assertEqual(procs.pinned(["wrk"], None), ["wrk"])
        self.assertEqual(procs.pinned(["wrk"], 1), ["taskset", "-c", "1", "wrk"])


if __name__ == "__main__":
    unittest.main()
