"""Background receivers on Django's immediate and dummy task backends (in-process).

The real-worker tests (a database queue and ``manage.py db_worker``) are in
``test_background_worker.py``.
"""

import functools
import json
import sys

import pytest

pytest.importorskip("django")
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models.signals import post_delete
from django.test.utils import override_settings

import fastsignal
from fastsignal import introspect
from fastsignal._travel import CannotTravel
from fastsignal.background import BackgroundCall

import background_receivers as app

tasks_framework = pytest.importorskip(
    "django.tasks"
    if sys.modules.get("django") and __import__("django").VERSION >= (6,)
    else "django_tasks"
)

DUMMY = {
    "default": {
        "BACKEND": f"{tasks_framework.__name__}.backends.dummy.DummyBackend",
        "QUEUES": ["default", "mail"],
    }
}


@pytest.fixture(scope="module", autouse=True)
def database():
    if "auth_user" not in connection.introspection.table_names():
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)


@pytest.fixture
def sig(engine):
    signal = app.compiled_signal if engine.name == "compiled" else app.python_signal
    app.CALLS.clear()
    yield signal
    signal.receivers = []
    app.CALLS.clear()


@pytest.fixture
def user():
    created = User.objects.create(username="ada")
    yield created
    User.objects.filter(pk=created.pk).delete()


def test_autocommit_runs_the_receiver_at_once_with_the_same_arguments(sig, user):
    sig.connect(app.record_user, background=True)
    [(receiver, call)] = sig.send(sender=User, instance=user, created=True, tags={"a", "b"})
    assert receiver is app.record_user  # the user's function, not what enqueues
    assert isinstance(call, BackgroundCall) and not call.waiting
    assert call.result.status == "SUCCESSFUL" and call.result.return_value == "ada"
    assert (
        repr(call)
        == f"<BackgroundCall background_receivers.record_user: enqueued as task {call.task_id}>"
    )
    [ran] = app.CALLS
    assert ran["sender"] is User and ran["instance"] == user and ran["instance"] is not user
    assert ran["in_database"] and ran["created"] is True and ran["tags"] == {"a", "b"}


def test_the_task_waits_for_the_commit_and_sees_the_committed_row(sig, user):
    sig.connect(app.record_user, background=True)
    with transaction.atomic():
        [(_, call)] = sig.send(sender=User, instance=user)
        assert call.waiting and call.task_id is None and app.CALLS == []
        assert "waiting for the commit" in repr(call)
        User.objects.filter(pk=user.pk).update(username="ada lovelace")
    assert not call.waiting
    assert app.CALLS[0]["username"] == "ada lovelace"


def test_rollback_enqueues_nothing(sig, user):
    sig.connect(app.record_user, background=True)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        [(_, call)] = sig.send(sender=User, instance=user)
        raise ZeroDivisionError
    assert call.waiting and app.CALLS == []


def test_a_savepoint_that_rolls_back_drops_its_own_enqueues_only(sig, user):
    sig.connect(app.record, background=True)
    with transaction.atomic():
        sig.send(sender=User, step="outer")
        try:
            with transaction.atomic():
                sig.send(sender=User, step="inner")
                raise ValueError
        except ValueError:
            pass
        sig.send(sender=User, step="after")
    assert [call["step"] for call in app.CALLS] == ["outer", "after"]


def test_an_argument_that_cannot_travel_fails_the_send(sig, user):
    sig.connect(app.record, background=True)
    with pytest.raises(CannotTravel) as info:
        sig.send(sender=User, payload=object())
    assert str(info.value).startswith(
        "argument 'payload' of background receiver background_receivers.record is object"
    )
    assert isinstance(info.value, TypeError) and app.CALLS == []
    sig.send(sender=User, nested={"ok": [1, 2, {3}]}, when=None)
    assert app.CALLS[-1]["nested"] == {"ok": [1, 2, {3}]}
    [(_, error)] = sig.send_robust(sender=object())
    assert isinstance(error, CannotTravel) and "the sender of background receiver" in str(error)


def test_a_deleted_row_is_rebuilt_from_its_key_and_the_fields_the_receiver_names(sig):
    sig.connect(app.record_user, background={"fields": {"instance": ["username"]}})
    doomed = User.objects.create(username="grace", email="grace@example.com")
    pk = doomed.pk
    with transaction.atomic():
        sig.send(sender=User, instance=doomed)
        doomed.delete()
    [ran] = app.CALLS
    assert ran["instance"].pk == pk and ran["username"] == "grace"
    assert ran["in_database"] is False and ran["instance"]._state.db == "default"
    # Fields not named did not travel: deferred, and the row is gone.
    assert ran["instance"].get_deferred_fields() >= {"email", "password"}
    with pytest.raises(User.DoesNotExist):
        _ = ran["instance"].email


def test_querysets_and_model_classes_travel(sig, user):
    sig.connect(app.record, background=True)
    sig.send(sender=User, users=User.objects.filter(pk=user.pk), model=User)
    [ran] = app.CALLS
    assert list(ran["users"]) == [user] and ran["model"] is User


def test_async_receiver_runs_in_the_worker(sig):
    sig.connect(app.record_async, background=True)
    [(_, call)] = sig.send(sender="shop", n=1)
    assert call.result.return_value == "async" and app.CALLS == [
        {"sender": "shop", "async": True, "n": 1}
    ]


def test_options_and_the_dummy_backend(sig):
    with override_settings(TASKS=DUMMY):
        sig.connect(app.record, background={"queue_name": "mail", "priority": 5})
        [(_, call)] = sig.send(sender="shop", n=2)
        assert call.result.task.queue_name == "mail" and call.result.task.priority == 5
        assert call.result.status == "READY" and app.CALLS == []
        assert call.result.args[0] == "background_receivers.record"


@pytest.mark.parametrize(
    ("receiver", "why"),
    [
        (lambda sender, **kwargs: None, "it is a lambda"),
        (app.Handlers().method, "it is a bound method"),
        (functools.partial(app.record), "it is a partial, not a function"),
    ],
)
def test_receivers_a_worker_cannot_import_are_rejected_at_connect(sig, receiver, why):
    with pytest.raises(
        TypeError, match=f"cannot be found by an import path in a task worker: {why}"
    ):
        sig.connect(receiver, background=True)
    assert sig.receivers == []


def test_nested_function_is_rejected(sig):
    def nested(sender, **kwargs):
        pass

    with pytest.raises(TypeError, match="it is defined inside a function"):
        sig.connect(nested, background=True)


def test_bad_options_are_rejected_at_connect(sig):
    with pytest.raises(TypeError, match="background got unknown task options 'queue': it takes"):
        sig.connect(app.record, background={"queue": "x"})
    with pytest.raises(TypeError, match="background must be True or a dict"):
        sig.connect(app.record, background="yes")
    with pytest.raises(TypeError, match="drop on_commit=True"):
        sig.connect(app.record, background=True, on_commit=True)
    with pytest.raises(Exception, match="priority"):
        sig.connect(app.record, background={"priority": 10_000})
    assert sig.receivers == []


def test_disconnect_dispatch_uid_and_introspection(sig):
    sig.connect(app.record, background=True, dispatch_uid="bg")
    sig.connect(app.record, background=True, dispatch_uid="bg")
    [info] = introspect.receivers(sig)
    assert info.name == "record" and info.module == "background_receivers"
    assert info.dispatch_uid == "bg" and not info.weak and info.background
    assert info.receiver is app.record and info.line == app.record.__code__.co_firstlineno
    assert sig.disconnect(dispatch_uid="bg")
    sig.connect(app.record, background=True)
    assert sig.disconnect(app.record) and sig.receivers == []


def test_django_model_signal_with_the_integration(engine, user):
    import fastsignal.django as fsd

    installed_here = not fsd.is_installed()
    fsd.install()
    app.CALLS.clear()
    try:
        post_delete.connect(
            app.record_user, sender=User, background={"fields": {"instance": ["username"]}}
        )
        doomed = User.objects.create(username="linus")
        pk = doomed.pk
        doomed.delete()
        [ran] = app.CALLS
        assert ran["username"] == "linus" and ran["in_database"] is False
        assert ran["origin"].pk == pk  # a model instance, travelled as its key
    finally:
        post_delete.disconnect(app.record_user, sender=User)
        if installed_here:
            fsd.uninstall()
        app.CALLS.clear()


def test_without_a_task_framework_connect_says_what_to_install(sig, monkeypatch):
    monkeypatch.delitem(sys.modules, "fastsignal.tasks", raising=False)
    monkeypatch.delattr(fastsignal, "tasks", raising=False)
    for name in ("django.tasks", "django_tasks"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install django-tasks\)"):
        sig.connect(app.record, background=True)
    assert sig.receivers == []


def test_receiver_decorator_takes_background(sig):
    fastsignal.receiver(sig, background=True)(app.record)
    [(_, call)] = sig.send(sender="shop")
    assert isinstance(call, BackgroundCall) and len(app.CALLS) == 1


@pytest.fixture
def tickets():
    from txapp.models import Ticket

    if Ticket._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Ticket)
    yield Ticket
    Ticket.all_tickets.all().delete()


def test_uuid_primary_keys_and_rows_a_default_manager_hides(sig, tickets):
    import uuid

    sig.connect(app.record, background=True)
    ticket = tickets.objects.create(id=uuid.uuid4(), title="archived", archived=True)
    assert not tickets.objects.filter(pk=ticket.pk).exists()  # hidden by the default manager
    sig.send(sender=tickets, ticket=ticket, all=tickets.all_tickets.all())
    [ran] = app.CALLS
    assert ran["ticket"] == ticket and not ran["ticket"]._state.adding
    assert ran["ticket"]._state.db == "default"
    assert list(ran["all"]) == [ticket]


def test_sets_that_would_not_come_back_and_enum_values(sig):
    import enum

    class Color(str, enum.Enum):
        RED = "red"

    sig.connect(app.record, background=True)
    with pytest.raises(CannotTravel, match=r"argument 'pairs' of background receiver .* holds a"):
        sig.send(sender="shop", pairs={(1, 2)})
    sig.send(sender="shop", color=Color.RED, size=True)
    [ran] = app.CALLS
    assert type(ran["color"]) is str and ran["color"] == "red" and ran["size"] is True


def test_an_empty_dict_of_options_is_background_with_the_defaults(sig):
    sig.connect(app.record, background={})
    [(_, call)] = sig.send(sender="shop")
    assert isinstance(call, BackgroundCall)
    with pytest.raises(TypeError, match="background must be True or a dict"):
        sig.connect(app.record, background=1)


@pytest.fixture
def integration():
    import fastsignal.django as fsd

    installed_here = not fsd.is_installed()
    fsd.install()
    yield
    if installed_here:
        fsd.uninstall()


def test_a_user_post_save_queues_keys_and_no_field_value(engine, integration):
    from django.db.models.signals import post_save

    post_save.connect(app.record_user, sender=User, background=True)
    try:
        with override_settings(TASKS=DUMMY):
            user = User(username="ada", email="ada@example.com", first_name="Ada")
            user.set_password("correct horse battery staple")
            user.save()
            [(receiver, call)] = [
                pair for pair in post_save.send(sender=User, instance=user, created=True)
            ]
    finally:
        post_save.disconnect(app.record_user, sender=User)
        User.objects.filter(username="ada").delete()
    assert receiver is app.record_user
    stored = json.loads(json.dumps(call.result.args))  # what the backend stores
    assert stored == [
        "background_receivers.record_user",
        "django.db.models.signals.post_save",
        {"__fastsignal__": "model", "model": "auth.User"},
        {
            "instance": {
                "__fastsignal__": "instance",
                "model": "auth.User",
                "pk": user.pk,
                "db": "default",
            },
            "created": True,
        },
    ]
    text = json.dumps(call.result.args) + json.dumps(call.result.kwargs)
    for value in ("ada", "Ada", "example.com", user.password, "pbkdf2"):
        assert value not in text


def test_each_engine_packs_the_same_keys(engine, user):
    """The engines' ``pack_instance_keys``: known model instances as their keys,
    plain values (exactly those types) as they are, every other key listed."""
    import enum

    class Level(enum.IntEnum):
        HIGH = 2

    class Flag(int):
        pass

    keys = {User: ("auth.User", "id")}
    named = {
        "instance": user,
        "created": True,
        "raw": False,
        "update_fields": None,
        "using": "default",
        "count": 3,
        "level": Level.HIGH,  # an int subclass: packed by pack(), as the plain value
        "flag": Flag(1),
        "ratio": 0.5,
        "other": object(),
    }
    packed, others = engine.module.pack_instance_keys(named, keys, "__fastsignal__")
    assert packed["instance"] == {
        "__fastsignal__": "instance",
        "model": "auth.User",
        "pk": user.pk,
        "db": "default",
    }
    assert {key: packed[key] for key in ("created", "raw", "update_fields", "using", "count")} == {
        "created": True,
        "raw": False,
        "update_fields": None,
        "using": "default",
        "count": 3,
    }
    assert others == ["level", "flag", "ratio", "other"]
    assert packed["other"] is named["other"]  # left for pack(), which refuses it
    assert named["instance"] is user  # the arguments themselves are not changed

    import uuid

    converted = User(pk=uuid.uuid4())  # a key that pack() converts: left to it
    assert engine.module.pack_instance_keys({"instance": converted}, keys, "tag")[1] == ["instance"]
    assert engine.module.pack_instance_keys({"a": 1}, {}, "tag") == ({"a": 1}, None)


def test_packing_runs_no_sql(sig, user):
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group, _ = Group.objects.get_or_create(name="fastsignal-packing")
    user.groups.add(group)
    fetched = User.objects.get(pk=user.pk)  # a fresh instance: nothing prefetched
    sig.connect(app.record_user, background=True)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        [(_, call)] = sig.send(sender=User, instance=fetched, created=False, model=User)
        assert call.waiting
    assert [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]] == []
    group.delete()


def test_the_fields_a_receiver_names_travel_and_no_other(sig, user):
    user.email = "ada@example.com"
    user.save()
    with override_settings(TASKS=DUMMY):
        sig.connect(app.record_fields, background={"fields": {"instance": ["email", "last_login"]}})
        [(_, call)] = sig.send(sender=User, instance=user)
    instance = call.result.args[3]["instance"]
    assert instance["fields"] == {"email": "ada@example.com", "last_login": None}
    assert "ada" not in json.dumps(instance).replace("ada@example.com", "")


def test_field_names_are_checked_at_connect_and_at_send(sig, user):
    with pytest.raises(TypeError, match=r"names the field 'mail', which auth\.User does not have"):
        sig.connect(app.record_fields, sender=User, background={"fields": {"instance": ["mail"]}})
    with pytest.raises(TypeError, match="names the field 'groups'"):
        sig.connect(app.record_fields, sender=User, background={"fields": {"instance": ["groups"]}})
    with pytest.raises(TypeError, match="background option 'fields' must be a dict"):
        sig.connect(app.record_fields, background={"fields": {"instance": "email"}})
    assert sig.receivers == []
    sig.connect(app.record_fields, background={"fields": {"instance": ["nope"]}})
    with pytest.raises(
        CannotTravel,
        match=r"argument 'instance' of background receiver "
        r"background_receivers\.record_fields names the field 'nope'",
    ):
        sig.send(sender=User, instance=user)
    sig.receivers = []
    sig.connect(app.record_fields, background={"fields": {"instance": ["email"]}})
    with pytest.raises(CannotTravel, match="has the field 'email' deferred"):
        sig.send(sender=User, instance=User.objects.only("username").get(pk=user.pk))
    with pytest.raises(CannotTravel, match="is a str, not a model instance"):
        sig.send(sender=User, instance="ada")
    assert app.CALLS == []


def test_option_types_and_unsaved_instances_get_clear_errors(sig):
    with pytest.raises(
        TypeError, match="background option 'priority' must be an int, got str 'high'"
    ):
        sig.connect(app.record, background={"priority": "high"})
    with pytest.raises(TypeError, match="background option 'queue_name' must be a str, got int 3"):
        sig.connect(app.record, background={"queue_name": 3})
    sig.connect(app.record, background=True)
    with pytest.raises(
        CannotTravel,
        match="argument 'instance' of background receiver background_receivers.record is an "
        r"unsaved User \(its primary key is None\)",
    ):
        sig.send(sender=User, instance=User(username="new"))


def test_responses_are_keyed_by_the_users_function(sig):
    sig.connect(app.record, background=True)
    sig.connect(app.record_async, background=True)
    responses = dict(sig.send(sender="shop"))
    assert set(responses) == {app.record, app.record_async}
    assert all(isinstance(call, BackgroundCall) for call in responses.values())
    assert dict(sig.send_robust(sender="shop"))[app.record].result.status == "SUCCESSFUL"


def test_a_receiver_of_main_is_refused_at_connect(sig):
    def in_main(sender, **kwargs):
        pass

    in_main.__module__, in_main.__qualname__ = "__main__", "in_main"
    with pytest.raises(
        TypeError,
        match=r"it is defined in __main__ .* Connect a module-level "
        "function of a module the worker imports",
    ):
        sig.connect(in_main, background=True)
    assert sig.receivers == []


FAILING = {"default": {"BACKEND": "failing_task_backend.FailingBackend"}}


def test_send_robust_logs_and_records_an_enqueue_failing_at_commit(sig, caplog):
    from failing_task_backend import BrokerDown

    later = []
    with override_settings(TASKS=FAILING):
        sig.connect(app.record, background=True)
        with caplog.at_level("ERROR", logger="django.dispatch"), transaction.atomic():
            [(receiver, call)] = sig.send_robust(sender="shop")
            transaction.on_commit(lambda: later.append("ran"))
    assert receiver is app.record and isinstance(call.error, BrokerDown)
    assert not call.waiting and call.result is None and "enqueue failed" in repr(call)
    assert later == ["ran"]  # the transaction's other callbacks ran
    [record] = [r for r in caplog.records if r.name == "django.dispatch"]
    assert "background receiver background_receivers.record" in record.getMessage()
    assert record.exc_info[1] is call.error


def test_send_keeps_djangos_on_commit_semantics_for_a_failing_enqueue(sig):
    from failing_task_backend import BrokerDown

    later = []
    with override_settings(TASKS=FAILING):
        sig.connect(app.record, background=True)
        with pytest.raises(BrokerDown), transaction.atomic():
            [(_, call)] = sig.send(sender="shop")
            transaction.on_commit(lambda: later.append("ran"))
    assert isinstance(call.error, BrokerDown) and later == []


def test_a_signal_travels_under_the_module_that_defines_it(sig, tmp_path, monkeypatch):
    from django.db.models.signals import post_save

    from fastsignal import _signal_paths

    # A short module that re-exports both signals, imported before anything asks.
    package = tmp_path / "aa"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "signals.py").write_text(
        "from django.db.models.signals import post_save\n"
        "from background_receivers import compiled_signal, python_signal\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("aa.signals")
    monkeypatch.setattr(_signal_paths, "_path_cache", {})
    try:
        assert _signal_paths.signal_path(post_save) == "django.db.models.signals.post_save"
        name = "compiled_signal" if sig is app.compiled_signal else "python_signal"
        assert _signal_paths.signal_path(sig) == f"background_receivers.{name}"
        with override_settings(TASKS=DUMMY):
            sig.connect(app.record, background=True)
            [(_, call)] = sig.send(sender="shop")
        assert call.result.args[1] == f"background_receivers.{name}"
        assert dict((s, n) for n, s in introspect.signals())[post_save] == (
            "django.db.models.signals.post_save"
        )
    finally:
        for module in ("aa.signals", "aa"):
            sys.modules.pop(module, None)


def test_every_django_start_registers_the_task_without_any_setting(tmp_path):
    import subprocess

    code = (
        "import sys, django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['fastsignal.django'])\n"
        "assert 'fastsignal.tasks' not in sys.modules\n"
        "django.setup()\n"
        "print(sys.modules['fastsignal.tasks'].run_receiver.module_path)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fastsignal.tasks.run_receiver"
