"""Run the project in ``worker_project/`` with a real task worker of one engine.

``WorkerProject`` copies the project to a directory, and runs its scripts and
the engine's real worker in processes of their own, always within a time
limit:

- ``send(*scenarios)``: ``scenarios.py`` sends; returns what each scenario
  printed and the tasks it enqueued (id, receiver, backend alias, queue);
- ``work(tasks, queues)``: the engine's worker runs what is queued on
  ``queues`` and stops: ``db_worker --batch`` (once per backend alias),
  ``rqworker --burst``, or a Celery worker that is stopped once the result of
  every task of ``tasks`` on those queues is stored;
- ``results(tasks)``: ``task_results.py`` reads the tasks' results through the
  task backend, in a third process;
- ``log()``: what the receivers wrote (one dict per call).
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

from processes import Service, run

PROJECT = Path(__file__).parent / "worker_project"

#: The engines the project can use (settings.py), and what each needs installed.
ENGINES = {
    "db": ("django_tasks_db",),
    "rq": ("django_tasks_rq", "django_rq", "redis"),
    "celery": ("django_tasks_celery", "celery", "redis"),
    "fennel": ("django_tasks_fennel", "celery", "redis"),
}

#: Celery's app per engine: the project's own, or the one django-tasks-fennel ships.
CELERY_APPS = {"celery": "celery_app", "fennel": "django_tasks_fennel.app"}

TIMEOUT = 180  # seconds, for any one script or worker run (a busy 2-core machine)


class WorkerProject:
    """A copy of the project in ``directory``, set up for ``engine`` and one fastsignal engine."""

    def __init__(self, directory, engine, *, python_engine=False, redis_url=""):
        self.directory = Path(directory)
        self.engine = engine
        shutil.copytree(PROJECT, self.directory, dirs_exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        env.pop("FASTSIGNAL_NO_EXTENSIONS", None)
        if python_engine:
            env["FASTSIGNAL_NO_EXTENSIONS"] = "1"
        env.update(
            DJANGO_SETTINGS_MODULE="settings",
            FASTSIGNAL_WORKER_ENGINE=engine,
            FASTSIGNAL_WORKER_REDIS=redis_url,
            FASTSIGNAL_WORKER_DB=str(self.directory / "db.sqlite3"),
            FASTSIGNAL_WORKER_LOG=str(self.directory / "log.jsonl"),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.redis_url = redis_url
        self.python("manage.py", "migrate", "--run-syncdb", "-v0")

    def python(self, *args, env=None):
        """Run a script of the project with this interpreter; return its standard output."""
        returncode, stdout, stderr = run(
            [sys.executable, *args],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            timeout=TIMEOUT,
        )
        assert returncode == 0, f"{' '.join(args)} failed:\n{stderr[-6000:]}"
        return stdout

    def send(self, *scenarios):
        """Empty the queues, run the scenarios; return (what they reported, tasks enqueued)."""
        self.log_path.unlink(missing_ok=True)
        output = self.python("scenarios.py", "--reset", *scenarios)
        reports = [json.loads(line) for line in output.splitlines()]
        tasks = [task for report in reports for task in report.pop("enqueued")]
        return reports, tasks

    def results(self, tasks):
        """The tasks' results, read through the task backend by a third process."""
        if not tasks:
            return []
        return json.loads(self.python("task_results.py", json.dumps(tasks)))

    @property
    def log_path(self):
        return self.directory / "log.jsonl"

    def log(self):
        """What the receivers wrote, one dict per call, in order."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def work(self, tasks, queues=("default", "search"), env=None):
        """Run the engine's worker on ``queues`` until what ``tasks`` queued there has run."""
        pending = [task for task in tasks if task["queue"] in queues]
        if self.engine == "db":
            backends = {"default"} | {task["backend"] for task in pending}
            for backend in sorted(backends):
                self.python(
                    "manage.py", "db_worker", "--batch", "--no-startup-delay",
                    "--queue-name", ",".join(queues), "--backend", backend,
                    env=env,
                )  # fmt: skip
        elif self.engine == "rq":
            self.python(
                "manage.py", "rqworker", "--burst", "--job-class", "django_tasks_rq.Job", *queues,
                env=env,
            )  # fmt: skip
        elif pending:
            self.celery_worker(pending, queues, env)

    def celery_worker(self, pending, queues, env=None):
        """Start a Celery worker on ``queues``, wait for the ``pending`` tasks' results, stop it."""
        import redis

        worker = Service(
            [
                sys.executable, "-m", "celery", "-A", CELERY_APPS[self.engine],
                "worker", "--pool", "solo", "--queues", ",".join(queues),
                "--without-mingle", "--without-gossip", "--without-heartbeat",
                "--hostname", f"fastsignal-{os.getpid()}@localhost", "--loglevel", "INFO",
            ],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            log=self.directory / "celery-worker.log",
        )  # fmt: skip
        connection = redis.Redis.from_url(self.redis_url)
        try:

            def done():
                if "unregistered task" in worker.output():
                    raise AssertionError(
                        f"the Celery worker discarded a task:\n{worker.output()[-4000:]}"
                    )
                return all(_celery_finished(connection, task["id"]) for task in pending)

            worker.wait_for(done, "running the queued tasks", TIMEOUT)
        finally:
            worker.stop()
            connection.close()
        self.worker_output = worker.output()


def _celery_finished(connection, task_id):
    """Whether Celery stored a final state for ``task_id`` (SUCCESS, FAILURE, ...)."""
    stored = connection.get(f"celery-task-meta-{task_id}")
    return stored is not None and json.loads(stored)["status"] in (
        "SUCCESS",
        "FAILURE",
        "REVOKED",
        "REJECTED",
        "IGNORED",
    )


def run_scenario(project, *scenarios, queued=False):
    """Send, (read the queue), work, read the results: what the database-queue test did."""
    sent, tasks = project.send(*scenarios)
    outcome = {"sent": sent, "tasks": tasks}
    if queued:
        outcome["queued"] = project.results(tasks)
    start = time.perf_counter()
    project.work(tasks)
    outcome["worker_seconds"] = time.perf_counter() - start
    outcome["ran"] = project.log()
    outcome["results"] = project.results(tasks)
    return outcome
