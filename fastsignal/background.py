"""Background receivers: ``connect(..., background=True)`` runs a receiver in a task worker.

At send time such a receiver is not called. Its arguments are checked and
packed for the trip at once (``fastsignal._travel``: model instances travel
as label and primary key, and are fetched again in the worker), and once the
surrounding transaction commits (at once in autocommit, never on rollback; a
savepoint that rolls back drops its own) the task
``fastsignal.tasks.run_receiver`` is enqueued on the project's task backend
(Django's ``TASKS`` setting). A worker of that backend calls the receiver with
the keyword arguments it would have had in-process.

The send lists the receiver with a ``BackgroundCall`` as its response: waiting
for the commit at first, then holding the enqueued task's result.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from ._common import receiver_name
from ._travel import pack

if TYPE_CHECKING:
    from collections.abc import Callable

#: The options ``background=`` takes, as a dict, besides ``True``.
OPTIONS = ("queue_name", "priority", "backend")


class BackgroundCall:
    """The response of a background receiver: its task, once enqueued.

    ``result`` is ``None`` while the send's transaction has not committed (and
    stays ``None`` if it rolls back); then it is the task backend's
    ``TaskResult`` (``result.id``, ``result.status``, ...).
    """

    __slots__ = ("receiver", "result")

    def __init__(self, receiver: str) -> None:
        #: The receiver's import path.
        self.receiver = receiver
        self.result: Any = None

    @property
    def waiting(self) -> bool:
        """Whether the task waits for the transaction to commit (not enqueued yet)."""
        return self.result is None

    @property
    def task_id(self) -> str | None:
        """The enqueued task's id, or ``None`` while waiting."""
        return None if self.result is None else str(self.result.id)

    def __repr__(self) -> str:
        state = "waiting for the commit" if self.waiting else f"enqueued as task {self.task_id}"
        return f"<BackgroundCall {self.receiver}: {state}>"


class BackgroundReceiver:
    """What is connected in place of a background receiver: it enqueues, never calls.

    Connected under the receiver's own lookup key, so ``disconnect(receiver)``
    and ``dispatch_uid`` work as for any receiver.
    """

    def __init__(self, receiver: Callable[..., Any], path: str, task: Any) -> None:
        self.__wrapped__ = receiver
        self.__module__ = receiver.__module__
        self.__qualname__ = receiver.__qualname__
        self.__name__ = getattr(receiver, "__name__", receiver.__qualname__)
        self.path = path
        self.task = task  # fastsignal.tasks.run_receiver with the options applied
        self._signal_paths: dict[int, str] = {}
        self._path_checked = False

    def __call__(self, signal: Any, sender: Any, **named: Any) -> BackgroundCall:
        if not self._path_checked:
            check_import_path(self.path, self.__wrapped__)
            self._path_checked = True
        where = f"background receiver {self.path}"
        packed_sender = pack(sender, f"the sender of {where}")
        packed = {key: pack(value, f"argument {key!r} of {where}") for key, value in named.items()}
        signal_path = self._signal_path(signal)
        call = BackgroundCall(self.path)

        def enqueue() -> None:
            call.result = self.task.enqueue(self.path, signal_path, packed_sender, packed)

        from .transaction import on_commit

        using = named.get("using")
        on_commit(enqueue, using=using if isinstance(using, str) else None)
        return call

    def _signal_path(self, signal: Any) -> str:
        """The import path a worker finds ``signal`` by (looked up once per signal)."""
        path = self._signal_paths.get(id(signal))
        if path is None:
            from .introspect import signals

            found = [
                name
                for name, value in signals()
                if value is signal and not name.startswith(("__main__.", "__mp_main__."))
            ]
            if not found:
                raise TypeError(
                    f"background receiver {self.path} was sent {signal!r}, which is not a "
                    "module-level signal: a task worker could not find it by an import path"
                )
            path = self._signal_paths[id(signal)] = found[0]
        return path


def import_path(receiver: Callable[..., Any]) -> str:
    """The path a worker imports ``receiver`` by, or a TypeError saying why there is none."""
    name = receiver_name(receiver)
    qualname = getattr(receiver, "__qualname__", None)
    module = getattr(receiver, "__module__", None)
    why = None
    if inspect.ismethod(receiver):
        why = "it is a bound method"
    elif not inspect.isfunction(receiver):
        why = f"it is a {type(receiver).__qualname__}, not a function"
    elif qualname == "<lambda>" or "<lambda>" in (qualname or ""):
        why = "it is a lambda"
    elif qualname is None or module is None or "<locals>" in qualname:
        why = "it is defined inside a function"
    else:
        # Whether the path names it is checked at the first send: under
        # @receiver, the module's name is bound only after the decorator returns.
        return f"{module}.{qualname}"
    raise TypeError(
        f"background receiver {name} cannot be found by an import path in a task worker: "
        f"{why}. Connect a module-level function."
    )


def check_import_path(path: str, receiver: Callable[..., Any]) -> None:
    """Raise a TypeError unless importing ``path`` gives ``receiver``."""
    from importlib import import_module

    found: Any = None
    names: list[str]
    module_name, names = path, []
    while module_name:  # the longest importable prefix, then attributes
        try:
            found = import_module(module_name)
            break
        except ImportError:
            module_name, _, name = module_name.rpartition(".")
            names.insert(0, name)
    try:
        for name in names:
            found = getattr(found, name)
    except AttributeError:
        found = None
    if found is not receiver or not module_name:
        raise TypeError(
            f"background receiver {path} cannot be found by an import path in a task "
            f"worker: importing {path} does not give it. Connect a module-level function "
            "under its own name."
        )


def background_receiver(receiver: Callable[..., Any], options: object) -> BackgroundReceiver:
    """Check ``receiver`` and ``background=`` ``options``; return what to connect."""
    if options is True:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(
            "background must be True or a dict of task options "
            f"({', '.join(OPTIONS)}), got {options!r}"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(
            f"background got unknown task options {', '.join(unknown)}: "
            f"it takes {', '.join(OPTIONS)}"
        )
    path = import_path(receiver)
    try:
        from . import tasks
    except ModuleNotFoundError as error:
        if error.name not in ("django_tasks", "django", "asgiref"):
            raise
        raise ModuleNotFoundError(
            "background=True needs Django's task framework: Django 6.0 or later, or the "
            'django-tasks backport (pip install "fastsignal[tasks]")'
        ) from error
    run_receiver: Any = tasks.run_receiver  # a Task object (see fastsignal.tasks)
    task = run_receiver.using(**options) if options else run_receiver
    task.get_backend().validate_task(task)
    return BackgroundReceiver(receiver, path, task)
