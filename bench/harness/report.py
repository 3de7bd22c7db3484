"""The report: one table per scenario (median, spread, every run) and the ratio
table (the first server of each scenario, porter, against every other)."""
import math

from . import stats


def number(value, idle):
    if not math.isfinite(value):
        return "-"
    return f"{value:.2f}" if idle else f"{value:,.0f}"


def scenario_table(scenario, names, results, rounds):
    """Lines for one scenario: each server's median, spread and runs."""
    n = 1 if scenario.idle else rounds
    better = "higher" if scenario.higher_is_better else "lower"
    lines = [f"{scenario.name}: {scenario.what}", f"  {scenario.unit}, median of {n}, {better} is better",
             f"  {'server':<12} {'median':>12} {'spread':>7}   runs"]
    for name in names:
        values = results.values(scenario.name, name)
        if not values:
            continue
        spread = stats.spread(values)
        runs = " ".join(number(v, scenario.idle) for v in values)
        errors = results.errors(scenario.name, name)
        lines.append(f"  {name:<12} {number(stats.median(values), scenario.idle):>12} "
                     f"{'-' if math.isnan(spread) else f'{spread:.0%}':>7}   {runs}"
                     + (f"   ERRORS: {errors}" if errors else ""))
    return lines


def ratios(scenario, names, results):
    """(subject, {other: subject median / other median}): the subject is the first
    server, in `names` order, with runs in the scenario."""
    medians = {n: stats.median(results.values(scenario.name, n)) for n in names
               if results.values(scenario.name, n)}
    if not medians:
        return None, {}
    subject = next(iter(medians))
    return subject, {n: stats.ratio(medians[subject], m) for n, m in medians.items() if n != subject}


def ratio_table(scenarios, names, results):
    """Lines of the ratio table: a row per scenario, a column per other server."""
    rows = [(s, *ratios(s, names, results)) for s in scenarios]
    others = [n for n in names if any(n in r for _, _, r in rows)]
    lines = ["ratios (medians): the scenario's first server / each other server",
             f"  {'scenario':<10} {'server':<12}" + "".join(f" {'/ ' + n:>9}" for n in others)]
    for scenario, subject, row in rows:
        if subject is None:
            continue
        cells = "".join(f" {(f'{row[n]:.2f}x' if n in row and math.isfinite(row[n]) else '-'):>9}" for n in others)
        note = "  (lower is better)" if not scenario.higher_is_better else ""
        lines.append(f"  {scenario.name:<10} {subject:<12}{cells}{note}")
    return lines


def report(scenarios, names, results, rounds, header):
    """The whole report as text."""
    lines = [header, ""]
    for scenario in scenarios:
        lines += scenario_table(scenario, names, results, rounds) + [""]
    return "\n".join(lines + ratio_table(scenarios, names, results))
