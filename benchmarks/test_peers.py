"""The peers are measured in their fastest documented form, close to what their own benchmarks show.

    pytest benchmarks/test_peers.py

One interleaved run (``benchmarks/peers.py``) times each peer's case from the
report, the form that library's own benchmarks time for the same work, and a
hand-written loop making the peer's calls; the ratios to the loop, taken in the
same run, do not depend on how fast or busy the machine is.
"""

import time
import timeit

import pytest

from benchmarks import peers
from benchmarks.stats import calibrate, sample
from benchmarks.workloads import Case, Sender


def run(cases, rounds=15):
    timed = {}
    for key, case in cases.items():
        timer = timeit.Timer(case.stmt, timer=time.process_time, globals=case.namespace)
        timed[key] = (timer, calibrate(timer, case.namespace, 0.0005), case.namespace)
    return peers.check(sample(timed, rounds))


@pytest.mark.parametrize("peer", sorted(peers.BUILDERS))
def test_peer_is_measured_in_its_fastest_form(peer):
    pytest.importorskip(peer)
    checks = run(peers.cases([peer]))
    assert len(checks) == len(peers.COUNTS)
    failed = [check.as_dict() for check in checks if not check.ok]
    assert not failed, peers.format_checks(failed)


def test_a_slow_form_is_caught():
    """psygnal's ``emit`` (the form the report used before) is far from the loop: caught."""
    psygnal = pytest.importorskip("psygnal")
    cases = {key: case for key, case in peers.cases(["psygnal"]).items() if key[1] == 0}
    sig = psygnal.SignalInstance((object,))
    cases["psygnal", 0, "suite"] = Case("sig.emit(Sender)", {"sig": sig, "Sender": Sender})
    (check,) = run(cases)
    assert not check.ok
    assert check.over_loop["median"] > peers.MAX_OVER_LOOP["psygnal"]
