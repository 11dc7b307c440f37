"""Print, as JSON, the results of the tasks whose ids and backend aliases are given.

Usage: ``task_results.py '[{"id": ..., "backend": ...}, ...]'``. Read through
the task backend (``get_result``), in a process of its own: neither the sender
nor the worker. A result the backend does not know has the status
``"NOT_FOUND"`` (django-tasks-fennel knows a task only once a worker ran it, its
record of queued tasks needing another kind of Celery result store than Redis).
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django

django.setup()

try:
    from django.tasks import task_backends
    from django.tasks.exceptions import TaskResultDoesNotExist
except ImportError:  # Django before 6.0: the backport
    from django_tasks import task_backends
    from django_tasks.exceptions import TaskResultDoesNotExist


def describe(result):
    return {
        "id": str(result.id),
        "receiver": result.args[0] if result.args else None,  # Celery: once the task ran
        "args": result.args,
        "task": getattr(result.task, "module_path", None),
        "backend": result.backend,
        "status": str(result.status.value),
        "return_value": result.return_value if result.status.value == "SUCCESSFUL" else None,
        "errors": [error.exception_class_path for error in result.errors],
    }


def result(task):
    try:
        return describe(task_backends[task["backend"]].get_result(task["id"]))
    except TaskResultDoesNotExist:
        return {"id": task["id"], "status": "NOT_FOUND"}


print(json.dumps([result(task) for task in json.loads(sys.argv[1])]))
