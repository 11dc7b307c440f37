"""Async workloads side by side: one pytest-benchmark group per workload.

    pytest benchmarks/test_async_bench.py --benchmark-only

Groups: ``asend-1-async``, ``asend-10-async``, ``asend-10-sync`` (fastsignal
compiled and fallback against Django) and ``send-10-sync-no-async-support-cost``
(adds a hand-written loop and a signal with an async receiver for another
sender). Each asend benchmark runs on one event loop made before timing starts.
The workloads are in ``benchmarks/async_workloads.py``, whose ``workloads()``
the report command times.
"""

import asyncio

import pytest

from benchmarks.async_workloads import TITLES, build, implementations

CASES = [
    pytest.param(name, impl, id=f"{name}-{impl}")
    for name in TITLES
    for impl in implementations(name)
]


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize(("name", "impl"), CASES)
def test_async(benchmark, loop, name, impl):
    benchmark.group = name
    benchmark.name = impl
    benchmark.extra_info["title"] = TITLES[name]
    benchmark(build(name, impl, loop))
