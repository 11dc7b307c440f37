"""Timing that a busy machine does not sway: many short interleaved batches, robust statistics.

A case is timed in batches of ``number`` operations, the number calibrated
(as pyperf calibrates its loops) so that one batch takes about ``target``
seconds: short enough that most batches run without the scheduler handing the
core to another process in the middle, long enough that the timer's own cost
is negligible. Every round times one batch of every case, in an order shuffled
afresh each round, so a neighbour that wakes up slows every implementation
alike. The first round warms up and is dropped.

A case's figure is the **median** of its batches with the **interquartile
range** as its spread, after rejecting outliers (Tukey's fences: more than
1.5 IQR outside the quartiles; a batch that lost the core for a time slice is
such an outlier). A ratio between two cases is taken **round by round** (the
two batches ran a few milliseconds apart) and summarised the same way: the
verdicts of the bars are judged on these medians of paired ratios, which is
what keeps them steady when the machine is busy.

A verdict is only as good as the median it is judged on, so each bar also
gets a distribution-free 95% confidence interval of that median
(``median_interval``: two order statistics, no assumption about the shape of
the samples). A bar whose interval straddles it is too close to call from the
rounds so far: the report times that workload for more rounds, and in more
processes, before it judges, and a bar still straddled then is not met
(``benchmarks/report.py``).
"""

import math
import os
import random
import statistics
from dataclasses import dataclass

#: Tukey's fences: a sample further than this many IQRs outside the quartiles is rejected.
FENCE = 1.5


@dataclass(frozen=True)
class Summary:
    """The median of a set of samples and their quartiles, outliers rejected."""

    median: float
    q1: float
    q3: float
    kept: int
    rejected: int

    @property
    def iqr(self):
        return self.q3 - self.q1

    def as_dict(self):
        return {
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "kept": self.kept,
            "rejected": self.rejected,
        }

    def scaled(self, factor):
        """The same summary with every figure multiplied by ``factor`` (> 0)."""
        return Summary(
            self.median * factor, self.q1 * factor, self.q3 * factor, self.kept, self.rejected
        )


def quartiles(samples):
    """``(q1, median, q3)`` of ``samples`` (at least one), linear interpolation."""
    if len(samples) == 1:
        return samples[0], samples[0], samples[0]
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return q1, median, q3


def summarize(samples):
    """A ``Summary`` of ``samples`` after rejecting the outliers beyond Tukey's fences."""
    samples = [s for s in samples if s == s]  # NaN: a pair with a missing sample
    if not samples:
        raise ValueError("no samples to summarize")
    q1, _, q3 = quartiles(samples)
    low, high = q1 - FENCE * (q3 - q1), q3 + FENCE * (q3 - q1)
    kept = [s for s in samples if low <= s <= high]
    q1, median, q3 = quartiles(kept)
    return Summary(median, q1, q3, len(kept), len(samples) - len(kept))


def median_interval(samples, z=1.96):
    """``(low, high)``: a confidence interval of the median of ``samples`` (at least one).

    The order statistics of ranks ``n/2 -+ z*sqrt(n)/2`` (1-based, rounded
    outwards): the median's rank in a sample of ``n`` is binomial, and this is
    its normal approximation; ``z=1.96`` gives about 95%.
    """
    ordered = sorted(s for s in samples if s == s)
    if not ordered:
        raise ValueError("no samples to bound")
    count = len(ordered)
    half_width = z * math.sqrt(count) / 2
    low = max(1, math.floor(count / 2 - half_width))
    high = min(count, math.ceil(count / 2 + half_width + 1))
    return ordered[low - 1], ordered[high - 1]


def paired_ratios(numerators, denominators):
    """Round-by-round ratios of two cases' samples (taken in the same rounds)."""
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def calibrate(timer, namespace, target):
    """Operations per batch so that one batch of ``timer`` takes about ``target`` seconds.

    ``namespace["BATCH"]`` is set to the batch size before each timing, for cases
    whose untimed setup prepares what a batch uses up.
    """
    number = 1
    while True:
        namespace["BATCH"] = number
        elapsed = min(timer.timeit(number) for _ in range(3))
        if elapsed >= target / 10 or number >= 10_000_000:
            return max(1, round(number * target / max(elapsed, 1e-9)))
        number *= 10 if elapsed < target / 100 else 2


def sample(timed, rounds, seed=0, progress=None):
    """Time every case of ``timed`` in ``rounds`` interleaved rounds (plus one dropped warm-up).

    ``timed`` maps a key to ``(timer, number, namespace)``. Returns
    ``{key: [ns per operation, one per round]}``, the rounds aligned across keys.
    """
    keys = list(timed)
    order = random.Random(seed)
    samples = {key: [] for key in keys}
    for round_number in range(rounds + 1):
        order.shuffle(keys)
        for key in keys:
            timer, number, namespace = timed[key]
            namespace["BATCH"] = number
            ns = timer.timeit(number) / number * 1e9
            if round_number:
                samples[key].append(ns)
        if progress is not None:
            progress(round_number, rounds)
    return samples


def load():
    """``(1-minute load average, cores)`` of this machine; the load is ``None`` if unknown."""
    cores = os.cpu_count() or 1
    try:
        return os.getloadavg()[0], cores
    except (AttributeError, OSError):
        return None, cores


def busy(load_average, cores):
    """Whether a load average means other processes compete for the cores."""
    return load_average is not None and load_average >= 0.5 * cores
