"""Child processes for the tests that run real servers and workers: always bounded, always stopped.

Every child runs in its own session (process group), so stopping it stops what
it forked too (an RQ work horse, a Celery pool). ``run`` waits a bounded time
for a command; ``Service`` starts one that keeps running (a Redis server, a
Celery worker) and stops it in ``stop()`` or at the end of a ``with`` block:
SIGTERM, a bounded wait, then SIGKILL. On Linux a child also gets SIGTERM if
the test process dies without stopping it.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: CI sets CI=true: there, a missing server or package fails a test instead of skipping it.
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what):
    """Fail in CI, skip elsewhere: ``what`` says what is missing and how to get it."""
    import pytest

    if IN_CI:
        pytest.fail(f"{what} (CI must provide it: .ci/run installs it)", pytrace=False)
    pytest.skip(what)


def _die_with_parent():
    """In the child, before exec: SIGTERM when the test process ends (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


PREEXEC = _die_with_parent if sys.platform == "linux" else None


def _stop_group(process, grace):
    """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # Whatever the leader left behind in its group (a pool child) goes too.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(args, *, cwd, env, timeout):
    """Run ``args`` to completion within ``timeout`` seconds; return (returncode, stdout, stderr).

    On timeout the whole process group is killed and ``TimeoutError`` says what
    the command printed so far.
    """
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=PREEXEC,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(process, grace=0)
        stdout, stderr = process.communicate()
        raise TimeoutError(
            f"{' '.join(map(str, args))} did not finish in {timeout} s\n"
            f"stdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}"
        ) from None
    finally:
        if process.poll() is None:
            _stop_group(process, grace=0)
    return process.returncode, stdout, stderr


class Service:
    """A long-running child process whose output goes to ``log`` (a file path)."""

    def __init__(self, args, *, cwd, env, log, grace=20):
        self.args = [str(arg) for arg in args]
        self.log = Path(log)
        self.grace = grace
        with open(self.log, "w") as output:
            self.process = subprocess.Popen(
                self.args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=PREEXEC,
            )

    def output(self):
        """What the process has printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self):
        return self.process.poll() is None

    def fail_if_dead(self, doing):
        """Raise with the process's output if it has exited."""
        if not self.alive():
            raise RuntimeError(
                f"{' '.join(self.args)} exited with {self.process.returncode} while {doing}:\n"
                f"{self.output()[-4000:]}"
            )

    def wait_for(self, ready, doing, timeout):
        """Poll ``ready()`` until true, within ``timeout`` seconds, while the process lives."""
        deadline = time.monotonic() + timeout
        while True:
            self.fail_if_dead(doing)
            if ready():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{' '.join(self.args)}: gave up {doing} after {timeout} s:\n"
                    f"{self.output()[-4000:]}"
                )
            time.sleep(0.1)

    def stop(self):
        """Stop it (SIGTERM, then SIGKILL after ``grace`` seconds); idempotent."""
        _stop_group(self.process, grace=self.grace)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
