"""Medians and spreads of a scenario's runs (one value per round)."""
import math
import statistics


def median(values):
    """The median of the finite values; NaN when there is none."""
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def spread(values):
    """(max - min) / median of the finite values, as a fraction: how noisy the
    rounds were. 0 for a single value, NaN when there is none."""
    finite = [v for v in values if math.isfinite(v)]
    mid = median(finite)
    if not finite or not mid:
        return math.nan
    return (max(finite) - min(finite)) / mid


def ratio(a, b):
    """a / b, NaN when either is missing or b is 0."""
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan
    return a / b
