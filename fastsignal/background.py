"""Background receivers: ``connect(..., background=True)`` runs a receiver in a task worker.

At send time such a receiver is not called. Its arguments are checked and
packed for the trip at once (``fastsignal._travel``: a model instance travels
as its label, primary key and database alias, plus the fields the receiver
named, and is fetched again in the worker; packing runs no SQL), and once the
surrounding transaction commits (at once in autocommit, never on rollback; a
savepoint that rolls back drops its own) the task
``fastsignal.tasks.run_receiver`` is enqueued on the project's task backend
(Django's ``TASKS`` setting). A worker of that backend calls the receiver with
the keyword arguments it would have had in-process.

A background receiver is connected as an on-commit receiver: the send lists
it, after the immediate receivers, as ``(receiver, BackgroundCall)``, the
receiver being the user's function. The call waits for the commit, then holds
the enqueued task's result, or the error its enqueue raised.

An enqueue that fails at commit (the broker is down) follows the send: after
``send`` the error propagates from the commit as Django's ``on_commit`` lets it
(the rows are committed; the transaction's later callbacks do not run); after
``send_robust`` it is logged on the ``django.dispatch`` logger, kept on the
``BackgroundCall`` (``call.error``), and the later callbacks run.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, TypedDict

from . import transaction as _transaction
from ._common import (
    DeferringReceiver,
    django_configured,
    log_robust_failure,
    logger,
    receiver_name,
)
from ._signal_paths import signal_path
from ._travel import CannotTravel, check_fields, pack_arguments

if TYPE_CHECKING:
    from collections.abc import Callable

#: The options ``background=`` takes, as a dict, besides ``True``.
OPTIONS = ("queue_name", "priority", "backend", "fields")

#: What to install for ``background=``, named in errors.
INSTALL_HINT = (
    "Django 6.0 and later have it built in (django.tasks); on Django 5.2 install "
    'the django-tasks backport (pip install django-tasks) and add "django_tasks" '
    "to INSTALLED_APPS"
)

_MAIN_MODULES = ("__main__", "__mp_main__")


class BackgroundOptions(TypedDict, total=False):
    """The options ``background=`` takes as a dict, each one optional.

    ``connect(receiver, background={"queue_name": "mail"})`` is
    ``background=True`` with these options:

    queue_name
        The queue of the task backend the task goes to.
    priority
        The task's priority in the task backend (not the receiver's call order
        among the signal's receivers, which ``connect(priority=...)`` sets).
    backend
        The alias of the task backend (a key of Django's ``TASKS`` setting).
    fields
        For a model instance argument, the names of the fields whose values
        travel with it, by argument name: ``{"instance": ["email"]}``.

    Any other key, or a value of another type, is refused with a ``TypeError``
    when the receiver connects.
    """

    queue_name: str
    priority: int
    backend: str
    fields: dict[str, list[str] | tuple[str, ...]]


_django_on_commit: Callable[..., None] | None = None  # django.db.transaction.on_commit


def django_on_commit(func: Callable[[], object], using: str | None, robust: bool) -> None:
    """``django.db.transaction.on_commit``, imported once."""
    global _django_on_commit
    if _django_on_commit is None:
        from django.db.transaction import on_commit

        _django_on_commit = on_commit
    _django_on_commit(func, using, robust)


class BackgroundCall:
    """The response of a background receiver: its task, once enqueued.

    ``result`` is ``None`` while the send's transaction has not committed (and
    stays ``None`` if it rolls back); then it is the task backend's
    ``TaskResult`` (``result.id``, ``result.status``, ...). ``error`` is the
    exception the enqueue raised at commit, if it failed.
    """

    __slots__ = ("_args", "_robust", "_task", "error", "receiver", "result")

    def __init__(
        self,
        receiver: str,
        task: Any = None,
        args: tuple[Any, ...] | None = None,
        robust: bool = False,
    ) -> None:
        #: The receiver's import path.
        self.receiver = receiver
        self.result: Any = None
        self.error: Exception | None = None
        self._task = task
        self._args = args  # the task's arguments, until enqueued
        self._robust = robust

    @property
    def waiting(self) -> bool:
        """Whether the task waits for the transaction to commit (not enqueued yet)."""
        return self.result is None and self.error is None

    @property
    def task_id(self) -> str | None:
        """The enqueued task's id, or ``None`` while waiting or after a failed enqueue."""
        return None if self.result is None else str(self.result.id)

    def _enqueue(self) -> None:
        """Enqueue the task: the ``on_commit`` callback of the send."""
        args, self._args = self._args, None
        if args is None:
            return  # enqueued already
        try:
            self.result = self._task.enqueue(*args)
        except Exception as err:
            self.error = err
            if not self._robust:
                raise
            if logger.isEnabledFor(logging.ERROR):
                logger.error(
                    "Error enqueueing background receiver %s at commit in "
                    "Signal.send_robust() (%s)",
                    self.receiver,
                    err,
                    exc_info=err,
                )

    def __repr__(self) -> str:
        if self.error is not None:
            state = f"enqueue failed: {type(self.error).__name__}: {self.error}"
        elif self.waiting:
            state = "waiting for the commit"
        else:
            state = f"enqueued as task {self.task_id}"
        return f"<BackgroundCall {self.receiver}: {state}>"


class BackgroundReceiver(DeferringReceiver):
    """What is connected in place of a background receiver: it enqueues, never calls.

    Connected under the receiver's own lookup key, as an on-commit receiver, so
    ``disconnect(receiver)`` and ``dispatch_uid`` work as for any receiver.
    A send calls ``defer``, never the object itself.
    """

    def __init__(
        self,
        receiver: Callable[..., Any],
        path: str,
        task: Any,
        fields: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.__wrapped__ = receiver
        self.__module__ = receiver.__module__
        self.__qualname__ = receiver.__qualname__
        self.__name__ = getattr(receiver, "__name__", receiver.__qualname__)
        self.path = path
        self.task = task  # fastsignal.tasks.run_receiver with the options applied
        self.fields = fields or {}
        self._path_checked = False
        self._signal_paths: dict[int, tuple[Any, str]] = {}  # id -> (signal, its import path)

    def defer(
        self, signal: Any, sender: Any, named: dict[str, Any], robust: bool
    ) -> tuple[Callable[..., Any], Any]:
        """Pack the send's arguments and enqueue the task at commit.

        Returns ``(receiver, BackgroundCall)``; with ``robust``, an error while
        packing is logged and returned as the response, as for any receiver.
        """
        try:
            known = self._signal_paths.get(id(signal))
            if known is not None and known[0] is signal:
                signal_path = known[1]
            else:
                signal_path = self._first_send(signal)
            packed_sender, packed = pack_arguments(sender, named, self.path, self.fields)
            call = BackgroundCall(
                self.path, self.task, (self.path, signal_path, packed_sender, packed), robust
            )
            using = named.get("using")
            if type(using) is not str:
                using = None
            backend = _transaction._backend
            # A task backend implies Django's settings: Django's on_commit it is.
            if backend is None and _django_on_commit is not None:
                _django_on_commit(call._enqueue, using, robust)
            elif backend is None and django_configured():
                django_on_commit(call._enqueue, using, robust)
            else:
                (backend or _transaction.get_backend()).on_commit(call._enqueue, using, robust)
        except Exception as err:
            if not robust:
                raise
            log_robust_failure(self.__wrapped__, err)
            return self.__wrapped__, err
        return self.__wrapped__, call

    def _first_send(self, signal: Any) -> str:
        """Check the receiver's and the signal's import paths at the first send of ``signal``."""
        if not self._path_checked:
            # Not at connect: under @receiver, the module's name is bound only
            # after the decorator returns.
            check_import_path(self.path, self.__wrapped__)
            self._path_checked = True
        path = self.signal_path(signal)
        self._signal_paths[id(signal)] = (signal, path)
        return path

    def __call__(self, signal: Any, sender: Any, **named: Any) -> BackgroundCall:
        """Pack and enqueue at commit, as a send does (for code that calls receivers itself)."""
        response = self.defer(signal, sender, named, robust=False)[1]
        assert isinstance(response, BackgroundCall)
        return response

    def signal_path(self, signal: Any) -> str:
        """The import path a worker finds ``signal`` by: the module that defines it."""
        path = signal_path(signal)
        if path is None or path.startswith(_MAIN_MODULES):
            raise TypeError(
                f"background receiver {self.path} was sent {signal!r}, which is not a "
                "signal defined at module level in an importable module: a task worker "
                "finds the signal by its import path (a signal of __main__, the script "
                "being run, cannot be found there). Define the signal in a module of "
                "the project."
            )
        return path

    def __repr__(self) -> str:
        return f"<BackgroundReceiver {self.path}>"


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
    elif module in _MAIN_MODULES:
        why = (
            f"it is defined in {module} (the script being run, or a shell), which a "
            "worker's process does not have"
        )
    else:
        import sys

        spec = getattr(sys.modules.get(module), "__spec__", None)
        if module in sys.modules and spec is None:
            why = f"its module {module} was not imported from a file (it has no __spec__)"
        else:
            # Whether the path names it is checked at the first send: under
            # @receiver, the module's name is bound only after the decorator returns.
            return f"{module}.{qualname}"
    raise TypeError(
        f"background receiver {name} cannot be found by an import path in a task worker: "
        f"{why}. Connect a module-level function of a module the worker imports (a "
        "module of the project, such as app/receivers.py)."
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


def _check_options(options: dict[Any, Any]) -> dict[str, tuple[str, ...]] | None:
    """Check the types of ``background=`` options; return the ``fields`` option, normalized."""
    unknown = sorted(map(repr, set(options) - set(OPTIONS)))
    if unknown:
        raise TypeError(
            f"background got unknown task options {', '.join(unknown)}: "
            f"it takes {', '.join(OPTIONS)}"
        )
    for key, kind in (("queue_name", str), ("backend", str), ("priority", int)):
        value = options.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise TypeError(
                f"background option {key!r} must be {'an' if kind is int else 'a'} "
                f"{kind.__name__}, got {type(value).__name__} {value!r}"
            )
    fields = options.get("fields")
    if fields is None:
        return None
    bad = TypeError(
        "background option 'fields' must be a dict from argument names to lists of "
        f'model field names, such as {{"instance": ["email"]}}; got {fields!r}'
    )
    if not isinstance(fields, dict):
        raise bad
    normal = {}
    for argument, names in fields.items():
        if isinstance(names, str) or not isinstance(names, (list, tuple, set, frozenset)):
            raise bad
        if not isinstance(argument, str) or not all(isinstance(n, str) and n for n in names):
            raise bad
        normal[argument] = tuple(names)
    return normal


def background_receiver(
    receiver: Callable[..., Any], options: object, sender: object = None
) -> BackgroundReceiver:
    """Check ``receiver`` and ``background=`` ``options``; return what to connect.

    ``sender``, when it is a model class, is the model whose fields the
    ``fields`` option names for the ``instance`` argument: they are checked here.
    """
    if options is True:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(
            "background must be True or a dict of task options "
            f"({', '.join(OPTIONS)}), got {options!r}"
        )
    fields = _check_options(options)
    path = import_path(receiver)
    if fields and "instance" in fields and isinstance(sender, type):
        check_fields(
            sender, fields["instance"], f"argument 'instance' of background receiver {path}"
        )
    try:
        from . import tasks
    except ModuleNotFoundError as error:
        if error.name not in ("django_tasks", "django", "asgiref"):
            raise
        raise ModuleNotFoundError(
            f"background=True needs Django's task framework: {INSTALL_HINT}"
        ) from error
    run_receiver: Any = tasks.run_receiver  # a Task object (see fastsignal.tasks)
    task_options = {key: value for key, value in options.items() if key != "fields"}
    task = run_receiver.using(**task_options) if task_options else run_receiver
    task.get_backend().validate_task(task)
    return BackgroundReceiver(receiver, path, task, fields)


__all__ = [
    "OPTIONS",
    "BackgroundCall",
    "BackgroundOptions",
    "BackgroundReceiver",
    "CannotTravel",
    "background_receiver",
]
