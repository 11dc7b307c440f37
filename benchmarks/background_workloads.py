"""Background receivers against the hand-written enqueue they replace.

A send with ``post_save``'s arguments to one receiver connected with
``background=True``, on ``django.contrib.auth``'s ``User`` and on a small model
(two fields), measured two ways. The signal is a fastsignal ``Signal`` of this
module, the same engine as Django's ``post_save`` with fastsignal installed:
installing fastsignal into Django here would make every Django dispatcher that
the report measures fastsignal's.

``background-send-*`` (inside a transaction)
    ``fastsignal``: ``saved.send(...)`` as ``save()`` sends ``post_save``, which packs
    the arguments and registers the enqueue with ``on_commit``; ``on-commit``:
    ``transaction.on_commit(partial(task.enqueue, instance.pk))`` by hand.
    Bar: at most 2x.
``background-commit-*`` (at commit)
    ``fastsignal``: the ``on_commit`` callback that send registered;
    ``enqueue``: ``task.enqueue(...)`` of the same task with the same
    arguments. Bar: at most 1.1x.

The task backend keeps nothing (django-tasks' dummy backend keeps every result).
"""

import functools

import django
from django.db import connection, models, transaction

import fastsignal
from benchmarks.workloads import Bar, Case, Workload

try:
    from django.tasks.backends.dummy import DummyBackend
except ImportError:  # Django 5.2: the backport
    from django_tasks.backends.dummy import DummyBackend


class DiscardingBackend(DummyBackend):
    """The dummy backend, keeping no result."""

    def enqueue(self, task, args, kwargs):
        result = super().enqueue(task, args, kwargs)
        self.results.clear()
        return result


class SmallRow(models.Model):
    name = models.CharField(max_length=20)
    size = models.IntegerField(default=0)

    class Meta:
        app_label = "auth"  # an installed app: no app of its own to install


saved = fastsignal.Signal(use_caching=True)  # post_save's engine, not installed into Django


def record(sender, instance, **kwargs):
    """The background receiver (never run here: the backend keeps the task)."""


@functools.cache
def _project():
    """Tables, rows, the backend and the receivers, once."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test.utils import override_settings

    override_settings(TASKS={"default": {"BACKEND": f"{__name__}.DiscardingBackend"}}).enable()
    if "auth_user" not in connection.introspection.table_names():
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    if SmallRow._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(SmallRow)
    import fastsignal.tasks

    rows = {
        "user": User.objects.create(username="ada", email="ada@example.com"),
        "small": SmallRow.objects.create(name="small", size=2),
    }
    for row in rows.values():
        saved.connect(record, sender=type(row), background=True)
    return rows, saved, fastsignal.tasks.run_receiver


def _in_transaction(kind, impl):
    rows, signal, task = _project()
    row = rows[kind]
    namespace = {
        "signal": signal,
        "Model": type(row),
        "row": row,
        "task": task,
        "partial": functools.partial,
        "on_commit": transaction.on_commit,
        "connection": connection,
    }
    if impl == "fastsignal":
        stmt = (
            "signal.send(sender=Model, instance=row, created=False, "
            "update_fields=None, raw=False, using='default')"
        )
    else:
        stmt = "on_commit(partial(task.enqueue, row.pk))"
    # An open transaction for the timings; the callbacks a batch registered are
    # dropped before the next (untimed).
    _open_transaction()
    return Case(stmt, namespace, setup="connection.run_on_commit.clear()")


@functools.cache
def _open_transaction():
    transaction.atomic().__enter__()


def _at_commit(kind, impl):
    rows, signal, task = _project()
    row = rows[kind]
    _open_transaction()
    connection.run_on_commit.clear()
    [(_, call)] = signal.send(
        sender=type(row),
        instance=row,
        created=False,
        update_fields=None,
        raw=False,
        using="default",
    )
    [(_, callback, _)] = connection.run_on_commit
    connection.run_on_commit.clear()
    args = call._args
    namespace = {"call": call, "args": args, "task": task, "callback": callback}
    if impl == "fastsignal":
        # The callback enqueues once; each run re-arms it (one attribute store, untimed
        # cost negligible beside an enqueue; the same store is in the other statement).
        stmt = "call._args = args; callback()"
    else:
        stmt = "call._args = args; task.enqueue(*args)"
    return Case(stmt, namespace)


def report_workloads():
    """The background receiver workloads, in report order."""
    workloads = []
    for kind, title in (("user", "a User"), ("small", "a small model")):
        workloads.append(
            Workload(
                f"background-send-{kind}",
                f"background receiver, send in a transaction, {title}",
                {
                    impl: functools.partial(_in_transaction, kind, impl)
                    for impl in ("fastsignal", "on-commit")
                },
                [Bar("on-commit", "fastsignal", at_most=2)],
                panel="background",
            )
        )
        workloads.append(
            Workload(
                f"background-commit-{kind}",
                f"background receiver, enqueue at commit, {title}",
                {
                    impl: functools.partial(_at_commit, kind, impl)
                    for impl in ("fastsignal", "enqueue")
                },
                [Bar("enqueue", "fastsignal", at_most=1.1)],
                panel="background",
            )
        )
    return workloads


assert django.VERSION >= (5, 2)
