"""Background receivers with real task workers, in separate processes.

The project in ``worker_project/`` runs on one task engine at a time: a
database queue (django-tasks-db, worker ``db_worker --batch``), RQ
(django-tasks-rq, worker ``rqworker --burst``) and Celery (django-tasks-celery
on Django 6, django-tasks-fennel on Django 5.2, a Celery worker stopped once
its tasks ran), the last two on a Redis server started for the test on
127.0.0.1. One process sends (``scenarios.py``), the real worker runs the
queued tasks in another, and a third reads the task results through the task
backend; the receivers log what they got, and in which process, to a file.
Each task engine runs with the compiled engine, the database queue also with the
pure-Python one: a worker is the same for both (it calls the receiver itself),
and in-process tests cover both engines' sends to background receivers. The
suite runs this on Django 5.2 (the django-tasks backport) and on Django 6.1
(``django.tasks``).
"""

import importlib.util
import json
import os

import pytest

pytestmark = pytest.mark.slow  # real worker processes: the full suite only

django = pytest.importorskip("django")

from processes import missing
from redis_server import RedisServer
from task_workers import ENGINES, WorkerProject, run_scenario

#: The task engines tested on this Django: Celery's backend for each Django version.
TASK_ENGINES = ["db", "rq", "celery" if django.VERSION >= (6, 0) else "fennel"]
REDIS_ENGINES = {"rq", "celery", "fennel"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A Redis server on 127.0.0.1 for the module's RQ and Celery projects."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(
    scope="module",
    params=[(task, "compiled") for task in TASK_ENGINES] + [("db", "python")],
    ids=lambda param: "-".join(param),
)
def project(request, tmp_path_factory):
    """The worker project on one task engine and one fastsignal engine."""
    return make_project(request, tmp_path_factory, *request.param)


@pytest.fixture(scope="module")
def celery_project(request, tmp_path_factory):
    """The worker project on this Django's Celery engine, on the compiled engine."""
    return make_project(request, tmp_path_factory, TASK_ENGINES[-1], "compiled")


def make_project(request, tmp_path_factory, task_engine, engine, directory=None, redis_url=""):
    """A worker project, or a skip (a failure in CI) when the engine is not installed.

    ``request`` gives the module's Redis server to the engines that need one,
    unless ``redis_url`` names another.
    """
    absent = [name for name in ENGINES[task_engine] if importlib.util.find_spec(name) is None]
    if absent:
        missing(f"the {task_engine} task engine needs {', '.join(absent)} (the test extra)")
    if engine == "compiled":
        import fastsignal

        if not fastsignal.COMPILED:
            pytest.skip("the compiled engine is not built")
    if task_engine in REDIS_ENGINES and not redis_url:
        # A database of its own per project: no two projects share a queue.
        server = request.getfixturevalue("redis_server")
        redis_url = server.url(db=next(DATABASES))
    return WorkerProject(
        directory or tmp_path_factory.mktemp(f"worker-{task_engine}-{engine}"),
        task_engine,
        python_engine=engine == "python",
        redis_url=redis_url,
    )


DATABASES = iter(range(16))  # Redis's databases


def queued_status(project):
    """What the backend says of a task still in its queue, read from another process."""
    # django-tasks-fennel knows a task only once a worker ran it (see task_results.py).
    return "NOT_FOUND" if project.engine == "fennel" else "READY"


def by_receiver(entries):
    return {entry["receiver"]: entry for entry in entries}


def test_commit_runs_in_the_worker_on_the_committed_row(project):
    outcome = run_scenario(project, "commit", queued=True)
    assert outcome["sent"] == [{"scenario": "commit", "waiting_in_transaction": [True]}]
    assert [(t["receiver"], t["backend"], t["queue"]) for t in outcome["tasks"]] == [
        ("shop.receivers.order_saved", "default", "default"),
        ("shop.receivers.receipt", "default", "default"),
    ]
    assert [q["status"] for q in outcome["queued"]] == [queued_status(project)] * 2
    # What the task store holds (read back through the backend): keys, no field value.
    path, signal, sender, named = outcome["results"][0]["args"]
    assert (path, signal) == ("shop.receivers.order_saved", "django.db.models.signals.post_save")
    assert sender == {"__fastsignal__": "model", "model": "shop.Order"}
    assert named["instance"] == {
        "__fastsignal__": "instance",
        "model": "shop.Order",
        "pk": named["instance"]["pk"],
        "db": "default",
    }
    assert "commit" not in json.dumps(outcome["results"][0]["args"])  # the order's reference
    ran = by_receiver(outcome["ran"])
    saved, receipt = ran["order_saved"], ran["receipt"]
    assert len(outcome["ran"]) == 2
    assert saved["sender"] == "shop.Order"
    assert saved["total"] == 20  # updated after the send, before the commit
    assert saved["created"] is True and saved["in_database"] is True
    assert receipt == {
        "pid": receipt["pid"],
        "receiver": "receipt",
        "sender": "shop",
        "order": "commit",
        "amount": 5,
    }
    assert saved["pid"] != os.getpid() and receipt["pid"] != os.getpid()
    # Read by a third process, through the task backend.
    assert [(r["receiver"], r["status"], r["return_value"]) for r in outcome["results"]] == [
        ("shop.receivers.order_saved", "SUCCESSFUL", "commit"),
        ("shop.receivers.receipt", "SUCCESSFUL", None),
    ]
    assert {r["task"] for r in outcome["results"]} == {"fastsignal.tasks.run_receiver"}


def test_rollback_enqueues_nothing(project):
    outcome = run_scenario(project, "rollback")
    assert outcome["tasks"] == [] and outcome["ran"] == []


def test_a_savepoint_that_rolls_back_drops_its_own_tasks(project):
    outcome = run_scenario(project, "savepoints")
    assert sorted(entry["reference"] for entry in outcome["ran"]) == ["after", "outer"]
    assert [r["status"] for r in outcome["results"]] == ["SUCCESSFUL", "SUCCESSFUL"]


def test_an_argument_that_cannot_travel_fails_the_send_and_enqueues_nothing_for_it(project):
    outcome = run_scenario(project, "cannot_travel")
    [sent] = outcome["sent"]
    assert sent["error"].startswith(
        "argument 'amount' of background receiver shop.receivers.receipt is object"
    )
    # Only the order's own post_save (sent before, in autocommit) was queued.
    assert [t["receiver"] for t in outcome["tasks"]] == ["shop.receivers.order_saved"]
    assert [entry["receiver"] for entry in outcome["ran"]] == ["order_saved"]


def test_a_deleted_row_reaches_the_receiver_rebuilt(project):
    outcome = run_scenario(project, "deleted_row")
    ran = by_receiver(outcome["ran"])
    deleted = ran["order_deleted"]
    assert deleted["reference"] == "deleted" and deleted["total"] == 7
    assert deleted["in_database"] is False
    assert ran["order_saved"]["in_database"] is False  # deleted before the worker ran
    # RQ takes no priority: the project connects the receiver without one there.
    priority = 0 if project.engine == "rq" else 10
    assert {t["priority"] for t in outcome["tasks"] if "deleted" in t["receiver"]} == {priority}
    assert [r["status"] for r in outcome["results"]] == ["SUCCESSFUL", "SUCCESSFUL"]


def test_an_async_receiver_runs_in_the_worker(project):
    outcome = run_scenario(project, "async_receiver")
    shipped = by_receiver(outcome["ran"])["shipped"]
    assert shipped["order"] == "async" and shipped["carrier"] == "post"
    assert {r["receiver"]: r["return_value"] for r in outcome["results"]} == {
        "shop.receivers.order_saved": "async",
        "shop.receivers.shipped": "async by post",
    }


def test_queue_name_routes_the_task_to_its_queue(project):
    _, tasks = project.send("routing")
    assert [(t["receiver"], t["queue"]) for t in tasks] == [
        ("shop.receivers.order_saved", "default"),
        ("shop.receivers.reindex", "search"),
    ]
    project.work(tasks, queues=("default",))
    assert [entry["receiver"] for entry in project.log()] == ["order_saved"]
    saved, reindex = project.results(tasks)
    assert (saved["status"], reindex["status"]) == ("SUCCESSFUL", queued_status(project))

    project.work(tasks, queues=("search",))
    assert [entry["receiver"] for entry in project.log()] == ["order_saved", "reindex"]
    [reindex] = project.results(tasks[1:])
    assert reindex["status"] == "SUCCESSFUL" and isinstance(reindex["return_value"], int)


def test_a_second_tasks_alias_runs_its_tasks(project):
    outcome = run_scenario(project, "second_alias")
    assert [(t["receiver"], t["backend"]) for t in outcome["tasks"]] == [
        ("shop.receivers.order_saved", "default"),
        ("shop.receivers.audit", "other"),
    ]
    assert by_receiver(outcome["ran"])["audit"]["note"] == "checked"
    audit = outcome["results"][1]
    assert (audit["backend"], audit["status"], audit["return_value"]) == (
        "other",
        "SUCCESSFUL",
        "checked",
    )


def test_a_celery_worker_that_imports_no_receiver_at_start_up_knows_the_task(celery_project):
    """Nothing the worker imports at start-up imports a receiver module (web code alone does)."""
    startup = celery_project.directory / "startup.jsonl"
    startup.unlink(missing_ok=True)
    _, tasks = celery_project.send("commit")
    celery_project.work(
        tasks,
        env={"FASTSIGNAL_WORKER_LAZY": "1", "FASTSIGNAL_WORKER_STARTUP": str(startup)},
    )
    [started] = [json.loads(line) for line in startup.read_text().splitlines()]
    assert started["receivers_imported"] is False
    assert "unregistered task" not in celery_project.worker_output
    assert sorted(entry["receiver"] for entry in celery_project.log()) == ["order_saved", "receipt"]
    assert [r["status"] for r in celery_project.results(tasks)] == ["SUCCESSFUL", "SUCCESSFUL"]


@pytest.fixture(scope="module")
def stopped_broker(tmp_path_factory):
    """The address of a Redis server that was started and stopped: the broker is down."""
    server = RedisServer(tmp_path_factory.mktemp("redis-stopped"))
    server.stop()
    return server.url()


@pytest.mark.parametrize("task_engine", sorted(REDIS_ENGINES & set(TASK_ENGINES)))
@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_with_the_broker_down_send_robust_logs_and_later_callbacks_run(
    task_engine, engine, stopped_broker, tmp_path
):
    project = make_project(None, None, task_engine, engine, tmp_path, stopped_broker)
    [down] = [
        json.loads(line) for line in project.python("scenarios.py", "broker_down").splitlines()
    ]
    # send_robust: the enqueue fails at commit, is recorded on the call and logged,
    # and the transaction's later on_commit callbacks run.
    assert down["receiver"] == "receipt"
    assert down["error"] is not None and down["waiting"] is False
    [(level, message, with_traceback)] = down["logged"]
    assert level == "ERROR" and with_traceback
    assert message.startswith(
        "Error enqueueing background receiver shop.receivers.receipt at commit in "
        "Signal.send_robust()"
    )
    # send: the error leaves the atomic block (the rows are committed) and, as
    # with Django's on_commit, the later callbacks do not run.
    assert down["raised"] == down["error"]
    assert down["later"] == ["robust"]
    assert down["enqueued"] == []
