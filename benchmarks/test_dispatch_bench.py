"""Dispatch workloads side by side: one pytest-benchmark group per workload.

    pytest benchmarks/test_dispatch_bench.py --benchmark-only

compares, in each group, fastsignal compiled and fallback with Django's
dispatcher (plain and caching), blinker, psygnal and the hand-written loop.
``python -m benchmarks.report`` times the same workloads interleaved and
checks the performance bars.
"""

import pytest

from benchmarks.workloads import compile_case, workloads

CASES = [
    pytest.param(workload, impl, id=f"{workload.name}-{impl}")
    for workload in workloads()
    for impl in workload.setups
]


@pytest.mark.parametrize(("workload", "impl"), CASES)
def test_dispatch(benchmark, workload, impl):
    benchmark.group = workload.title
    benchmark.name = impl
    case = workload.setups[impl]()
    run = compile_case(case)
    if case.setup is None:
        benchmark(run)
    else:  # a batch of 1,000 operations per round, each on a receiver never seen before
        benchmark.pedantic(run, setup=case.namespace["prepare"], rounds=20)
