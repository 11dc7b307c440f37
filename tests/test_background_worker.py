"""Background receivers with a real task worker, in separate processes.

The project in ``worker_project/`` queues tasks in its database
(django-tasks-db). One process sends (``scenarios.py``), then the real worker,
``manage.py db_worker --batch``, runs the queued tasks in another and exits;
the receivers log what they got, and in which process, to a file. Run on both
engines; the suite runs it on Django 5.2 (with the django-tasks backport) and
on Django 6.1 (``django.tasks``).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real worker processes: the full suite only

pytest.importorskip("django_tasks_db")

PROJECT = Path(__file__).parent / "worker_project"


@pytest.fixture(params=["compiled", "python"], scope="module")
def run(request, engine_available, tmp_path_factory):
    """Run the project's scripts on one engine; return what the receivers logged."""
    directory = tmp_path_factory.mktemp(f"worker-{request.param}")
    shutil.copytree(PROJECT, directory, dirs_exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.pop("FASTSIGNAL_NO_EXTENSIONS", None)
    if request.param == "python":
        env["FASTSIGNAL_NO_EXTENSIONS"] = "1"
    elif not engine_available:
        pytest.skip("the compiled engine is not built")
    env["FASTSIGNAL_WORKER_DB"] = str(directory / "db.sqlite3")
    env["FASTSIGNAL_WORKER_LOG"] = str(directory / "log.jsonl")

    def python(*args):
        result = subprocess.run(
            [sys.executable, *args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    python("manage.py", "migrate", "--run-syncdb", "-v0")
    log = directory / "log.jsonl"

    def scenario(*names):
        log.unlink(missing_ok=True)
        sent = [json.loads(line) for line in python("scenarios.py", *names).splitlines()]
        queued = json.loads(python("task_results.py"))
        start = time.perf_counter()
        python("manage.py", "db_worker", "--batch", "--no-startup-delay")
        worked = time.perf_counter() - start
        ran = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        results = json.loads(python("task_results.py", "--clear"))
        return {
            "sent": sent,
            "queued": queued,
            "ran": ran,
            "results": results,
            "worker_seconds": worked,
        }

    return scenario


@pytest.fixture(scope="module")
def engine_available():
    import fastsignal

    return fastsignal.COMPILED


def test_commit_runs_in_the_worker_on_the_committed_row(run):
    outcome = run("commit")
    assert outcome["sent"] == [{"scenario": "commit", "waiting_in_transaction": [True]}]
    assert [q["status"] for q in outcome["queued"]] == ["READY", "READY"]
    # What the database queue stores: keys, no field value.
    path, signal, sender, named = outcome["queued"][0]["args"]
    assert (path, signal) == ("shop.receivers.order_saved", "django.db.models.signals.post_save")
    assert sender == {"__fastsignal__": "model", "model": "shop.Order"}
    assert named["instance"] == {
        "__fastsignal__": "instance",
        "model": "shop.Order",
        "pk": named["instance"]["pk"],
        "db": "default",
    }
    assert "commit" not in json.dumps(outcome["queued"][0]["args"])  # the order's reference
    saved, receipt = outcome["ran"]
    assert saved["receiver"] == "order_saved" and saved["sender"] == "shop.Order"
    assert saved["total"] == 20  # updated after the send, before the commit
    assert saved["created"] is True and saved["in_database"] is True
    assert receipt == {
        "pid": saved["pid"],
        "receiver": "receipt",
        "sender": "shop",
        "order": "commit",
        "amount": 5,
    }
    assert saved["pid"] != os.getpid()
    assert [(r["receiver"], r["status"], r["return_value"]) for r in outcome["results"]] == [
        ("shop.receivers.order_saved", "SUCCESSFUL", "commit"),
        ("shop.receivers.receipt", "SUCCESSFUL", None),
    ]


def test_rollback_enqueues_nothing(run):
    outcome = run("rollback")
    assert outcome["queued"] == [] and outcome["ran"] == []


def test_a_savepoint_that_rolls_back_drops_its_own_tasks(run):
    outcome = run("savepoints")
    assert [entry["reference"] for entry in outcome["ran"]] == ["outer", "after"]


def test_an_argument_that_cannot_travel_fails_the_send_and_enqueues_nothing_for_it(run):
    outcome = run("cannot_travel")
    [sent] = outcome["sent"]
    assert sent["error"].startswith(
        "argument 'amount' of background receiver shop.receivers.receipt is object"
    )
    # Only the order's own post_save (sent before, in autocommit) was queued.
    assert [q["receiver"] for q in outcome["queued"]] == ["shop.receivers.order_saved"]
    assert [entry["receiver"] for entry in outcome["ran"]] == ["order_saved"]


def test_a_deleted_row_reaches_the_receiver_rebuilt(run):
    outcome = run("deleted_row")
    by_receiver = {entry["receiver"]: entry for entry in outcome["ran"]}
    deleted = by_receiver["order_deleted"]
    assert deleted["reference"] == "deleted" and deleted["total"] == 7
    assert deleted["in_database"] is False
    assert by_receiver["order_saved"]["in_database"] is False  # deleted before the worker ran
    assert {q["priority"] for q in outcome["queued"] if "deleted" in q["receiver"]} == {10}
