"""pytest plugin for scripts/sanitize (loaded with ``-p sanitize_plugin``; not for normal runs).

- Prints ``fastsignal._engine_c.__file__`` in the header and stops the session
  unless the engine in use is the ASan build named by ``FASTSIGNAL_SANITIZE_SO``
  and the ASan runtime is loaded in the test process.
- Writes the node id of the running test to ``$FASTSIGNAL_SANITIZE_LOGS/current-test``,
  so that scripts/sanitize can name the test that was running when ASan aborted.
- Counts the ASan reports in ``$FASTSIGNAL_SANITIZE_LOGS`` (ASan's log_path files,
  one per process) before and after each test, and lists the tests during which
  new reports appeared (useful with ``--keep-going``, where ASan does not abort).
- Writes the skipped tests, with their reasons, to ``$FASTSIGNAL_SANITIZE_LOGS/skipped``
  (scripts/sanitize runs those that need address reuse again, without ASan's quarantine).
"""

import os

import pytest

SO = os.environ.get("FASTSIGNAL_SANITIZE_SO", "")
LOGS = os.environ.get("FASTSIGNAL_SANITIZE_LOGS", "")
MARKER = b"ERROR: AddressSanitizer"

_reports_by_test = {}
_before = pytest.StashKey[int]()


def _check():
    import fastsignal
    from fastsignal import _engine_c

    so = os.path.realpath(_engine_c.__file__)
    problems = []
    if not fastsignal.COMPILED:
        problems.append("fastsignal.COMPILED is False")
    if not SO or so != os.path.realpath(SO):
        problems.append(
            f"the engine is {so}, not the ASan build {SO or '(FASTSIGNAL_SANITIZE_SO unset)'}"
        )
    with open("/proc/self/maps") as maps:
        if "libasan" not in maps.read():
            problems.append("the ASan runtime is not loaded in the test process")
    return so, problems


def _count_reports():
    total = 0
    if not LOGS:
        return total
    for name in os.listdir(LOGS):
        if name.startswith("asan."):
            with open(os.path.join(LOGS, name), "rb") as log:
                total += log.read().count(MARKER)
    return total


def pytest_report_header(config):
    so, problems = _check()
    return [f"sanitize: fastsignal._engine_c.__file__ = {so}"] + [
        f"sanitize: PROBLEM: {problem}" for problem in problems
    ]


def pytest_sessionstart(session):
    _, problems = _check()
    if problems:
        raise SystemExit("sanitize: " + "; ".join(problems))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if LOGS:
        with open(os.path.join(LOGS, "current-test"), "w") as current:
            current.write(item.nodeid + "\n")
    item.stash[_before] = _count_reports()


def pytest_runtest_makereport(item, call):
    if call.when != "teardown" or _before not in item.stash:
        return
    new = _count_reports() - item.stash[_before]
    if new > 0:
        _reports_by_test[item.nodeid] = _reports_by_test.get(item.nodeid, 0) + new


def pytest_runtest_logreport(report):
    """Record skipped tests and their reasons in ``$FASTSIGNAL_SANITIZE_LOGS/skipped``."""
    if not (LOGS and report.skipped):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    with open(os.path.join(LOGS, "skipped"), "a") as skipped:
        skipped.write(f"{report.nodeid}\t{' '.join(reason.split())}\n")


def pytest_terminal_summary(terminalreporter):
    if not _reports_by_test:
        return
    terminalreporter.section("AddressSanitizer reports by test")
    for nodeid, count in _reports_by_test.items():
        terminalreporter.write_line(f"sanitize: {count} ASan report(s) during {nodeid}")
    if LOGS:
        with open(os.path.join(LOGS, "tests-with-reports"), "w") as out:
            out.writelines(f"{nodeid}\n" for nodeid in _reports_by_test)
