"""porter's benchmark harness: servers side by side, one core each, wrk on the
other core, alternating rounds, medians and a ratio table (bench/README.md).

Modules, one job each:
  scenarios  what is measured (path, connections, pipelining depth, idle memory)
  stats      medians and spreads of a list of runs
  wrk        the load generator: its command line and the parsing of its report
  procs      starting pinned servers, waiting for their port, stopping them, RSS
  peers      nginx, h2o (configs rendered from bench/peers/) and the `limit` ceiling
  tools      installing wrk, nginx, h2o... with apt-get when missing
  idle       holding N idle keep-alive connections, memory per connection
  rounds     the order servers are measured in, round after round, and the runs
  report     the per-scenario tables and the ratio table
  cli        `bench/compare.py`: run, conf, ensure

Only Python's standard library; the pure parts are tested by test_harness.py.
"""
