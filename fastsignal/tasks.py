"""The task that runs background receivers in a worker of the project's task backend.

``run_receiver`` is a task of Django's task framework (``django.tasks`` from
Django 6.0, the ``django-tasks`` backport before). Importing this module
creates it, which needs Django's settings; workers import it by the path the
task was enqueued with, ``fastsignal.tasks.run_receiver``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.utils.module_loading import import_string

from ._travel import unpack

try:
    from django.tasks import task
except ImportError:  # Django before 6.0: the backport
    from django_tasks import task  # type: ignore[no-redef,import-not-found,unused-ignore]


def run_receiver(receiver: str, signal: str, sender: Any, named: dict[str, Any]) -> Any:
    """Call the receiver at import path ``receiver`` as a send of ``signal`` would.

    ``sender`` and ``named`` are the send's arguments as ``fastsignal._travel``
    packed them: model instances are fetched again here. Returns the receiver's
    response if it is a JSON value (the task backend stores it), else its repr.
    """
    function = import_string(receiver)
    arguments = {key: unpack(value) for key, value in named.items()}
    call = async_to_sync(function) if iscoroutinefunction(function) else function
    response = call(signal=import_string(signal), sender=unpack(sender), **arguments)
    try:
        json.dumps(response)
    except (TypeError, ValueError):
        return repr(response)
    return response


run_receiver = task(run_receiver)  # type: ignore[assignment]
