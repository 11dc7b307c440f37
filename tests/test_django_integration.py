"""``fastsignal.django``: install(), uninstall() and the Django code that relies on signals.

Runs against real Django (settings from ``conftest.py``: in-memory SQLite,
contenttypes and auth). The module fixture installs fastsignal on each engine in
turn and uninstalls it afterwards, checking that Django's ``Signal`` class is as
it was.
"""

import subprocess
import sys
import textwrap
import warnings
import weakref
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

django = pytest.importorskip("django")

from django.contrib.auth.models import Group, Permission, User
from django.core import signals as core_signals
from django.core.management import call_command
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import signals as model_signals
from django.db.models.deletion import Collector
from django.db.models.signals import (
    ModelSignal,
    m2m_changed,
    post_delete,
    post_init,
    post_save,
    pre_delete,
    pre_init,
    pre_save,
)
from django.dispatch import Signal as DjangoSignal
from django.test.signals import setting_changed
from django.test.utils import (
    CaptureQueriesContext,
    override_settings,
)

import fastsignal
import fastsignal.django as fsd
from fastsignal import _engine_py
from fastsignal._common import REGISTRY_ATTR
from fastsignal.dispatcher import ENGINE_ATTRIBUTES
from fastsignal.django._install import SIGNAL_METHODS

from helpers import collect

DJANGO_6 = django.VERSION >= (6, 0)
REPLACED = ENGINE_ATTRIBUTES + SIGNAL_METHODS

BUILTIN_SIGNALS = {
    "pre_init": pre_init,
    "post_init": post_init,
    "pre_save": pre_save,
    "post_save": post_save,
    "pre_delete": pre_delete,
    "post_delete": post_delete,
    "m2m_changed": m2m_changed,
    "class_prepared": model_signals.class_prepared,
    "pre_migrate": model_signals.pre_migrate,
    "post_migrate": model_signals.post_migrate,
    "request_started": core_signals.request_started,
    "request_finished": core_signals.request_finished,
    "got_request_exception": core_signals.got_request_exception,
    "setting_changed": setting_changed,
    "connection_created": connection_created,
}


def assert_django_pristine():
    """Django's ``Signal`` class holds Django's own attributes and nothing of ours."""
    for name in REPLACED:
        value = DjangoSignal.__dict__.get(name)
        if value is None:  # fastsignal-only names, and 6.x-only ones on 5.2
            assert name not in ("__init__", "connect", "send", "_live_receivers"), name
            continue
        assert value.__module__ == "django.dispatch.dispatcher", name
        assert value.__qualname__ == f"Signal.{name}", name


def django_layout(item):
    assert len(item) == (4 if DJANGO_6 else 3)


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(engine):
    """fastsignal installed on ``engine``, with receivers connected before install.

    ``installed.early`` is a Django ``Signal`` that got four receivers (weak
    function, weak bound method, strong lambda, sender-specific) before install.
    """
    engine = engine.module
    assert not fsd.is_installed(), "fastsignal.django was left installed"
    assert_django_pristine()

    calls = []

    def weak_function(sender, **kwargs):
        calls.append(("weak_function", sender))
        return "weak_function"

    class Owner:
        def method(self, sender, **kwargs):
            calls.append(("method", sender))
            return "method"

    def sender_specific(sender, **kwargs):
        calls.append(("sender_specific", sender))
        return "sender_specific"

    def on_group_saved(sender, instance, created, **kwargs):
        calls.append(("post_save", instance.name, created))

    owner = Owner()
    early = DjangoSignal()
    early.connect(weak_function)
    early.connect(owner.method)
    early.connect(
        lambda sender, **kwargs: calls.append(("strong", sender)) or "strong",
        weak=False,
        dispatch_uid="strong",
    )
    early.connect(sender_specific, sender=Group)
    post_save.connect(on_group_saved, sender=Group)
    assert not fsd.is_accelerated(early)
    assert fsd.install(engine=engine) is True
    yield SimpleNamespace(
        engine=engine,
        early=early,
        calls=calls,
        keep=(weak_function, owner, sender_specific, on_group_saved),
    )
    assert fsd.uninstall() is True
    assert not fsd.is_installed()
    assert_django_pristine()
    post_save.disconnect(on_group_saved, sender=Group)


@pytest.fixture(scope="module")
def tables():
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def db(tables):
    """A transaction rolled back after the test."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def record():
    """``record.receiver`` appends ``(signal, sender, kwargs)`` to ``record.calls``."""
    calls = []

    def receiver(signal, sender, **kwargs):
        calls.append((signal, sender, kwargs))

    return SimpleNamespace(calls=calls, receiver=receiver)


@contextmanager
def uninstalled(engine):
    """Django's dispatcher for the duration; fastsignal (on ``engine``) again afterwards."""
    assert fsd.uninstall()
    try:
        yield
    finally:
        fsd.uninstall()
        assert fsd.install(engine=engine)


# -- every signal goes through the engine -------------------------------------------


def test_is_installed(installed):
    assert fsd.is_installed()


@pytest.mark.parametrize("name", sorted(BUILTIN_SIGNALS))
def test_builtin_signals_dispatch_through_engine(installed, record, name):
    signal = BUILTIN_SIGNALS[name]
    engine = installed.engine
    assert type(signal).send is engine.send
    assert type(signal).send_robust is engine.send_robust
    assert type(signal).has_listeners is engine.has_listeners
    assert fsd.is_accelerated(signal)

    class Sender:
        pass

    # Contrib apps' receivers (post_migrate's, for one) must not see this sender.
    with mute_signals(signal):
        signal.connect(record.receiver, sender=Sender)
        try:
            assert signal.has_listeners(Sender)
            assert signal.send(sender=Sender, x=1) == [(record.receiver, None)]
            assert signal.send_robust(sender=Sender, x=2) == [(record.receiver, None)]
            assert [call[2] for call in record.calls] == [{"x": 1}, {"x": 2}]
            assert all(call[0] is signal for call in record.calls)
            assert REGISTRY_ATTR in vars(signal)
            assert engine.registry_of(signal).lock is signal.lock
        finally:
            assert signal.disconnect(record.receiver, sender=Sender)
        assert not signal.has_listeners(Sender)


def test_isinstance(installed):
    assert isinstance(post_save, DjangoSignal)
    assert isinstance(post_save, ModelSignal)
    assert isinstance(core_signals.request_started, DjangoSignal)
    assert isinstance(DjangoSignal(), DjangoSignal)
    assert type(post_save) is ModelSignal


def test_accelerated_signals_report(installed):
    names = dict(fsd.accelerated_signals())
    for name in (
        "pre_init",
        "post_init",
        "pre_save",
        "post_save",
        "pre_delete",
        "post_delete",
        "m2m_changed",
        "class_prepared",
    ):
        assert names[f"django.db.models.signals.{name}"] is getattr(model_signals, name)
    assert names["django.core.signals.request_started"] is core_signals.request_started
    assert names["django.core.signals.setting_changed"] is setting_changed
    assert names["django.db.backends.signals.connection_created"] is connection_created
    # Listed once, under the module that defines it, not under re-exports.
    assert "django.test.signals.setting_changed" not in names
    assert [n for n, _ in fsd.module_signals("django.")] == sorted(
        n for n, _ in fsd.accelerated_signals("django.")
    )


def test_is_accelerated_for_overriding_subclass(installed):
    class Custom(DjangoSignal):
        def send(self, sender, **named):
            return super().send(sender, **named)

    assert not fsd.is_accelerated(Custom())
    assert fsd.is_accelerated(fastsignal.Signal()) is (
        installed.engine is fastsignal._engine.engine
    )


# -- signals that existed before install -------------------------------------------


def test_receivers_connected_before_install_still_fire(installed):
    early, calls = installed.early, installed.calls
    calls.clear()
    responses = early.send(sender=Group)
    assert [r for _, r in responses] == ["weak_function", "method", "strong", "sender_specific"]
    assert [c[0] for c in calls] == ["weak_function", "method", "strong", "sender_specific"]
    calls.clear()
    assert [r for _, r in early.send(sender=User)] == ["weak_function", "method", "strong"]
    assert len(early.receivers) == 4
    assert fsd.is_accelerated(early)
    assert installed.engine.registry_of(early).lock is early.lock


def test_model_receiver_connected_before_install_fires(installed, db):
    installed.calls.clear()
    Group.objects.create(name="early birds")
    assert ("post_save", "early birds", True) in installed.calls


def test_weak_receiver_connected_before_install_dies_after(installed):
    with uninstalled(installed.engine):
        signal = DjangoSignal()

        def receiver(**kwargs):
            return "alive"

        signal.connect(receiver)
    assert signal.send(sender=None) == [(receiver, "alive")]
    del receiver
    collect()
    assert not signal.has_listeners()
    assert signal.send(sender=None) == []
    assert signal.receivers == []


def test_async_receiver_connected_before_install(installed):
    with uninstalled(installed.engine):
        signal = DjangoSignal()

        async def receiver(**kwargs):
            return "async"

        signal.connect(receiver)
    assert signal.send(sender=None) == [(receiver, "async")]


# -- signals created after install ---------------------------------------------------


def test_new_signal_after_install_is_accelerated(installed, record):
    signal = DjangoSignal(use_caching=True)
    assert fsd.is_accelerated(signal)
    assert "receivers" not in vars(signal)
    assert signal.use_caching is True
    signal.connect(record.receiver)
    assert signal.send(sender=None, a=1) == [(record.receiver, None)]
    assert installed.engine.registry_of(signal).lock is signal.lock
    assert [item[0] for item in signal.receivers] == [
        (fastsignal._common.make_id(record.receiver), fastsignal._common.make_id(None))
    ]


def test_new_model_signal_subclass_after_install(installed, record):
    class AuditSignal(ModelSignal):
        pass

    signal = AuditSignal(use_caching=True)
    signal.connect(record.receiver, sender="auth.Group")
    assert signal.send(sender=Group) == [(record.receiver, None)]
    assert signal.send(sender=User) == []


# -- ModelSignal's lazy string senders -------------------------------------------------


def test_lazy_string_sender(installed, record, db):
    post_save.connect(record.receiver, sender="auth.Group")
    try:
        assert post_save.has_listeners(Group)
        assert not post_save.has_listeners(Permission)
        Group.objects.create(name="lazy")
        assert [(c[1], c[2]["instance"].name) for c in record.calls] == [(Group, "lazy")]
    finally:
        assert post_save.disconnect(record.receiver, sender="auth.Group") is None
    assert record.receiver not in post_save._live_receivers(Group)[0]
    Group.objects.create(name="not heard")
    assert len(record.calls) == 1


def test_lazy_string_sender_for_model_defined_later(installed, record):
    from django.apps.registry import Apps
    from django.db import models

    later_apps = Apps()
    calls = []

    def receiver(sender, args, kwargs, **extra):
        calls.append((sender, dict(kwargs)))  # Model.__init__ consumes ``kwargs`` later

    pre_init.connect(receiver, sender="fs_later.Later", apps=later_apps)
    assert calls == []

    class Later(models.Model):
        class Meta:
            app_label = "fs_later"
            apps = later_apps

    try:
        assert pre_init.has_listeners(Later)
        Later(id=1)
        assert calls == [(Later, {"id": 1})]
    finally:
        assert pre_init.disconnect(receiver, sender=Later)
    assert not pre_init.has_listeners(Later)


def _lazy_reference_errors():
    """What ``manage.py check`` says of receivers waiting for models that do not exist."""
    from django.apps.registry import Apps
    from django.core.checks.model_checks import _check_lazy_references

    def on_save(sender, **kwargs):
        pass

    class Handler:
        def on_delete(self, sender, **kwargs):
            pass

        def __call__(self, sender, **kwargs):
            pass

    handler = Handler()
    empty_apps = Apps([])
    post_save.connect(on_save, sender="missing_app.Model", apps=empty_apps)
    pre_delete.connect(handler.on_delete, sender="missing_app.Other", apps=empty_apps)
    m2m_changed.connect(handler, sender="missing_app.Third", apps=empty_apps)
    return [(error.id, error.msg, error.obj) for error in _check_lazy_references(empty_apps)]


def test_lazy_reference_to_a_missing_model_is_checked_as_in_django(installed):
    """A receiver connected for a model that never loads is signals.E001, naming the
    receiver and the signal, as with Django's dispatcher (not a generic models.E022)."""
    errors = _lazy_reference_errors()
    with uninstalled(installed.engine):
        expected = _lazy_reference_errors()
    assert [error[0] for error in expected] == ["signals.E001"] * 3
    assert any(
        message.startswith("The function 'on_save' was connected to the 'post_save' signal")
        for _, message, _ in expected
    )
    assert errors == expected


# -- Collector and m2m decisions ------------------------------------------------------


@pytest.mark.parametrize("signal", [pre_delete, post_delete], ids=["pre_delete", "post_delete"])
def test_collector_fast_delete_decision(installed, record, db, signal):
    through = User.groups.through

    def can_fast_delete():
        return Collector(using="default").can_fast_delete(through.objects.all())

    assert can_fast_delete()
    signal.connect(record.receiver, sender=Permission)
    try:
        assert can_fast_delete()  # a receiver for another model changes nothing
    finally:
        signal.disconnect(record.receiver, sender=Permission)
    user = User.objects.create(username="ann")
    user.groups.add(Group.objects.create(name="g"))
    signal.connect(record.receiver, sender=through)
    try:
        assert not can_fast_delete()
        # Collected: the rows are read before they are deleted (Django sends no
        # signals for auto-created through models, but still honours the choice).
        with CaptureQueriesContext(connection) as queries:
            through.objects.all().delete()
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "DELETE"]
    finally:
        signal.disconnect(record.receiver, sender=through)
    assert can_fast_delete()
    user.groups.add(Group.objects.get(name="g"))
    with CaptureQueriesContext(connection) as queries:
        through.objects.all().delete()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["DELETE"]


def test_collector_fast_delete_with_any_sender_receiver(installed, record, db):
    through = User.groups.through
    pre_delete.connect(record.receiver)
    try:
        assert not Collector(using="default").can_fast_delete(through.objects.all())
    finally:
        pre_delete.disconnect(record.receiver)
    assert Collector(using="default").can_fast_delete(through.objects.all())


def test_m2m_bulk_insert_decision(installed, record, db):
    user = User.objects.create(username="bob")
    group = Group.objects.create(name="editors")
    manager = user.groups

    def can_fast_add():
        return manager._get_add_plan("default", manager.source_field_name)[2]

    assert can_fast_add()
    m2m_changed.connect(record.receiver, sender=User.groups.through)
    try:
        assert not can_fast_add()
        user.groups.add(group)
        assert [c[2]["action"] for c in record.calls] == ["pre_add", "post_add"]
        assert record.calls[1][2]["pk_set"] == {group.pk}
    finally:
        m2m_changed.disconnect(record.receiver, sender=User.groups.through)
    assert can_fast_add()


# -- third-party patterns -------------------------------------------------------------


def mute_signals(*signals):
    """factory_boy's ``mute_signals``, as it is written."""

    @contextmanager
    def muted():
        paused = {}
        for signal in signals:
            paused[signal] = signal.receivers
            signal.receivers = []
        try:
            yield
        finally:
            for signal, receivers in paused.items():
                signal.receivers = receivers + signal.receivers
                with signal.lock:
                    signal.sender_receivers_cache.clear()

    return muted()


def test_factory_mute_pattern(installed, record, db):
    post_save.connect(record.receiver, sender=Group)
    pre_save.connect(record.receiver, sender=Group)
    try:
        Group.objects.create(name="heard")  # warm any cache
        assert len(record.calls) == 2
        with mute_signals(pre_save, post_save):
            assert post_save.receivers == []
            assert not post_save.has_listeners(Group)
            Group.objects.create(name="muted")
            assert len(record.calls) == 2
            assert post_save.send(sender=Group, instance=None, created=False) == []
        assert post_save.has_listeners(Group)
        Group.objects.create(name="heard again")
        assert len(record.calls) == 4
        assert record.calls[-1][2]["instance"].name == "heard again"
    finally:
        post_save.disconnect(record.receiver, sender=Group)
        pre_save.disconnect(record.receiver, sender=Group)


def test_factory_mute_pattern_keeps_receivers_connected_while_muted(installed):
    signal = DjangoSignal()
    calls = []

    def first(**kwargs):
        calls.append("first")

    def second(**kwargs):
        calls.append("second")

    signal.connect(first)
    with mute_signals(signal):
        signal.connect(second)
        signal.send(sender=None)
        assert calls == ["second"]
    calls.clear()
    signal.send(sender=None)
    assert calls == ["first", "second"]
    assert len(signal.receivers) == 2


def test_debug_panel_iteration(installed):
    """django-debug-toolbar's SignalsPanel reads ``receivers`` like this."""
    signal = DjangoSignal()

    def function_receiver(**kwargs):
        pass

    class Handler:
        def on_signal(self, **kwargs):
            pass

    handler = Handler()
    strong = lambda **kwargs: None  # noqa: E731
    signal.connect(function_receiver)
    signal.connect(handler.on_signal)
    signal.connect(strong, weak=False)
    names = []
    for item in signal.receivers:
        receiver = item[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        if receiver is None:
            continue
        receiver = getattr(receiver, "__wraps__", receiver)
        name = getattr(receiver, "__name__", str(receiver))
        if getattr(receiver, "__self__", None) is not None:
            name = f"{type(receiver.__self__).__name__}.{name}"
        names.append(name)
    assert names == ["function_receiver", "Handler.on_signal", "<lambda>"]
    # The built-in signals too (they all have receivers from contrib apps or none).
    for built_in in BUILTIN_SIGNALS.values():
        for item in built_in.receivers:
            assert item[0] and item[1] is not None


def sentry_style_patch():
    """Replace ``Signal._live_receivers`` as Sentry's Django integration does."""
    old_live_receivers = DjangoSignal._live_receivers
    wrapped = []

    def _sentry_live_receivers(self, sender):
        sync_receivers, async_receivers = old_live_receivers(self, sender)

        def wrap(receiver):
            def wrapper(*args, **kwargs):
                wrapped.append(receiver)
                return receiver(*args, **kwargs)

            wrapper.__wrapped__ = receiver
            return wrapper

        return [wrap(r) for r in sync_receivers], async_receivers

    DjangoSignal._live_receivers = _sentry_live_receivers
    return wrapped


@contextmanager
def live_receivers_restored():
    original = DjangoSignal.__dict__["_live_receivers"]
    try:
        yield
    finally:
        DjangoSignal._live_receivers = original


def test_live_receivers_override_after_install(installed, record):
    signal = DjangoSignal()
    signal.connect(record.receiver)
    with live_receivers_restored():
        wrapped = sentry_style_patch()
        responses = signal.send(sender=None, n=1)
        assert wrapped == [record.receiver]
        assert responses[0][0].__wrapped__ is record.receiver
        signal.send_robust(sender=None, n=2)
        assert len(wrapped) == 2
        assert signal.has_listeners()
        post_save.send(sender=Permission, instance=None, created=False)  # nobody listens
    assert signal.send(sender=None, n=3) == [(record.receiver, None)]
    assert len(wrapped) == 2
    assert [c[2]["n"] for c in record.calls] == [1, 2, 3]


def test_live_receivers_override_before_install(installed, record):
    """Sentry initialised in settings.py, before the app's ready() installs fastsignal."""
    engine = installed.engine
    with uninstalled(engine), live_receivers_restored():
        wrapper_calls = sentry_style_patch()
        sentry_wrapper = DjangoSignal.__dict__["_live_receivers"]
        signal = DjangoSignal()
        signal.connect(record.receiver)
        signal.send(sender=None, n=1)  # Django's dispatcher, through the wrapper
        assert wrapper_calls == [record.receiver]

        assert fsd.install(engine=engine)
        try:
            # The wrapper stays and now wraps fastsignal's lookup.
            assert DjangoSignal.__dict__["_live_receivers"] is sentry_wrapper
            assert type(signal).send is engine.send
            signal.send(sender=None, n=2)
            assert wrapper_calls == [record.receiver] * 2
            assert post_save.send(sender=Permission, instance=None, created=False) == []
            other = DjangoSignal()
            other.connect(record.receiver, sender=Group)
            assert other.has_listeners(Group) and not other.has_listeners(User)
            other.send(sender=Group, n=3)
            assert len(wrapper_calls) == 3
        finally:
            assert fsd.uninstall()
        # Back on Django's own lookup, still through the wrapper.
        assert DjangoSignal.__dict__["_live_receivers"] is sentry_wrapper
        signal.send(sender=None, n=4)
        assert len(wrapper_calls) == 4
        django_layout(signal.receivers[0])
    assert [c[2]["n"] for c in record.calls] == [1, 2, 3, 4]


def test_unknown_wrapper_before_install_is_refused(installed):
    engine = installed.engine
    with uninstalled(engine):
        original = DjangoSignal.__dict__["send"]

        class Tracer:
            """A callable object: its inner function is out of reach."""

            def __init__(self, inner):
                self.inner = inner

            def __get__(self, obj, owner=None):
                return self if obj is None else (lambda *a, **k: self.inner(obj, *a, **k))

        DjangoSignal.send = Tracer(original)
        try:
            with pytest.warns(fsd.FastSignalWarning, match="Signal.send"):
                assert fsd.install(engine=engine) is False
            assert not fsd.is_installed()
            assert "_connect_receiver" not in DjangoSignal.__dict__
            signal = DjangoSignal()
            signal.connect(lambda **kwargs: "ok", weak=False)
            assert [r for _, r in signal.send(sender=None)] == ["ok"]
        finally:
            DjangoSignal.send = original


def test_setting_changed_through_override_settings(installed, record):
    setting_changed.connect(record.receiver)
    try:
        with override_settings(FASTSIGNAL_TEST_SETTING=1):
            pass
    finally:
        setting_changed.disconnect(record.receiver)
    assert [(c[2]["setting"], c[2]["enter"]) for c in record.calls] == [
        ("FASTSIGNAL_TEST_SETTING", True),
        ("FASTSIGNAL_TEST_SETTING", False),
    ]


def test_complex_setting_override_warns_at_the_override_line(installed, monkeypatch):
    """Django's ``settings_tests`` ``test_complex_override_warning``: the receiver's
    ``stacklevel`` counts on ``send`` being one Python frame."""
    from django.test import signals as test_signals

    monkeypatch.setattr(test_signals, "COMPLEX_OVERRIDE_SETTINGS", {"FASTSIGNAL_TEST_WARN"})
    with pytest.warns(UserWarning, match="Overriding setting FASTSIGNAL_TEST_WARN") as caught:
        line = sys._getframe().f_lineno + 1
        with override_settings(FASTSIGNAL_TEST_WARN="override"):
            pass
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def test_request_started(installed, record):
    core_signals.request_started.connect(record.receiver)
    try:
        core_signals.request_started.send(sender=object, environ={})
    finally:
        core_signals.request_started.disconnect(record.receiver)
    assert record.calls[0][2] == {"environ": {}}


def test_model_instances_send_init_signals(installed, record, db):
    Group.objects.create(name="a")
    Group.objects.create(name="b")
    post_init.connect(record.receiver, sender=Group)
    try:
        names = [g.name for g in Group.objects.order_by("name").filter(name__in="ab")]
    finally:
        post_init.disconnect(record.receiver, sender=Group)
    assert names == ["a", "b"]
    assert [c[2]["instance"].name for c in record.calls] == ["a", "b"]


def test_delete_sends_pre_and_post_delete(installed, record, db):
    group = Group.objects.create(name="gone")
    pre_delete.connect(record.receiver, sender=Group)
    post_delete.connect(record.receiver, sender=Group)
    try:
        group.delete()
    finally:
        pre_delete.disconnect(record.receiver, sender=Group)
        post_delete.disconnect(record.receiver, sender=Group)
    assert [c[0] for c in record.calls] == [pre_delete, post_delete]


# -- install / uninstall ------------------------------------------------------------


def test_install_twice_is_harmless(installed, record):
    before = {name: DjangoSignal.__dict__.get(name) for name in REPLACED}
    signal = DjangoSignal()
    signal.connect(record.receiver)
    assert fsd.install() is True
    assert fsd.install(engine=installed.engine) is True
    assert {name: DjangoSignal.__dict__.get(name) for name in REPLACED} == before
    assert signal.send(sender=None) == [(record.receiver, None)]
    assert len(record.calls) == 1
    assert len(signal.receivers) == 1


def test_install_with_another_engine_is_refused(installed):
    other = _engine_py if installed.engine is not _engine_py else fastsignal._engine.engine
    if other is installed.engine:
        pytest.skip("only one engine available")
    with pytest.raises(ValueError, match="another engine"):
        fsd.install(engine=other)


def test_uninstall_restores_django(installed, record, db):
    engine = installed.engine

    class Handler:
        def on_save(self, sender, instance, **kwargs):
            record.calls.append(("handler", instance.name))

    handler = Handler()
    early = installed.early
    fresh = DjangoSignal()  # created after install, never used
    used = DjangoSignal(use_caching=True)
    used.connect(record.receiver, sender=Group)
    post_save.connect(handler.on_save, sender=Group)
    with uninstalled(engine):
        assert not fsd.is_installed()
        assert_django_pristine()
        assert not fsd.is_accelerated(post_save)
        assert fsd.accelerated_signals("django.") == []
        for signal in (early, fresh, used, post_save):
            state = vars(signal)
            assert REGISTRY_ATTR not in state
            assert isinstance(state["receivers"], list)
            for item in state["receivers"]:
                django_layout(item)
        assert isinstance(vars(post_save)["sender_receivers_cache"], weakref.WeakKeyDictionary)
        assert isinstance(vars(used)["sender_receivers_cache"], weakref.WeakKeyDictionary)
        assert vars(fresh)["sender_receivers_cache"] == {}
        # Django's dispatcher delivers to the same receivers, in the same order.
        assert fresh.send(sender=None) == []
        assert used.send(sender=Group) == [(record.receiver, None)]
        assert [r for _, r in early.send(sender=Group)] == [
            "weak_function",
            "method",
            "strong",
            "sender_specific",
        ]
        Group.objects.create(name="under django")
        assert ("handler", "under django") in record.calls
        # Django's own dead-receiver clean-up works on the restored items.
        count = len(post_save.receivers)
        del handler
        collect()
        assert vars(post_save)["_dead_receivers"] is True
        with post_save.lock:
            post_save._clear_dead_receivers()
        assert len(post_save.receivers) == count - 1
        # Django's connect and disconnect work on the restored lists.
        fresh.connect(record.receiver, weak=False)
        assert fresh.send(sender=None) == [(record.receiver, None)]
        assert used.disconnect(record.receiver, sender=Group)
        used.connect(record.receiver, sender=Group)
    # Installed again: everything is adopted once more.
    assert fsd.is_accelerated(fresh)
    assert fresh.send(sender=None) == [(record.receiver, None)]
    assert used.send(sender=Group) == [(record.receiver, None)]
    assert [r for _, r in early.send(sender=Group)] == [
        "weak_function",
        "method",
        "strong",
        "sender_specific",
    ]
    assert used.disconnect(record.receiver, sender=Group)


def test_on_commit_receiver_on_django_signal(installed, tables):
    """fastsignal's ``connect(on_commit=True)`` works on Django's signals once installed."""
    signal = DjangoSignal()
    calls = []

    def after_commit(sender, **kwargs):
        calls.append(kwargs["n"])

    signal.connect(after_commit, on_commit=True)
    with transaction.atomic():
        signal.send(sender=None, n=1)
        assert calls == []
    assert calls == [1]
    with transaction.atomic():
        signal.send(sender=None, n=2)
        transaction.set_rollback(True)
    assert calls == [1]


def test_uninstall_drops_on_commit_receivers_with_a_warning(installed):
    signal = DjangoSignal()

    def immediate(**kwargs):
        return "now"

    def after_commit(**kwargs):
        pass

    signal.connect(immediate)
    signal.connect(after_commit, on_commit=True)
    try:
        with pytest.warns(fsd.FastSignalWarning, match="after_commit"):
            assert fsd.uninstall()
        assert signal.send(sender=None) == [(immediate, "now")]
        assert len(signal.receivers) == 1
    finally:
        fsd.uninstall()
        assert fsd.install(engine=installed.engine)


def test_uninstall_keeps_wrapper_set_after_install(installed, record):
    """A monitoring wrapper set while installed survives uninstall, pointed at Django's."""
    engine = installed.engine
    signal = DjangoSignal()
    signal.connect(record.receiver)
    with live_receivers_restored():
        wrapped = sentry_style_patch()
        wrapper = DjangoSignal.__dict__["_live_receivers"]
        with uninstalled(engine):
            assert DjangoSignal.__dict__["_live_receivers"] is wrapper
            signal.send(sender=None)
            assert wrapped == [record.receiver]
        # install() found the wrapper again (now around Django's) and re-pointed it.
        assert DjangoSignal.__dict__["_live_receivers"] is wrapper
        signal.send(sender=None)
        assert len(wrapped) == 2
    assert len(record.calls) == 2


def test_app_config_installs(tmp_path):
    """``"fastsignal.django"`` in INSTALLED_APPS installs during django.setup()."""
    script = textwrap.dedent(
        """
        import django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                            "fastsignal.django"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                   "NAME": ":memory:"}},
        )
        from django.db.models.signals import post_save
        import fastsignal.django as fsd

        calls = []
        def before_setup(sender, **kwargs):
            calls.append(sender)
        post_save.connect(before_setup, sender="auth.Group")
        assert not fsd.is_installed()
        django.setup()
        from django.apps import apps
        from django.contrib.auth.models import Group
        assert apps.get_app_config("fastsignal").name == "fastsignal.django"
        assert fsd.is_installed() and fsd.is_accelerated(post_save)
        post_save.send(sender=Group, instance=None, created=True)
        assert calls == [Group], calls
        names = [name for name, _ in fsd.accelerated_signals()]
        assert "django.db.models.signals.post_save" in names, names
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_from_settings_before_setup(tmp_path):
    """``install()`` at the top of a settings module, before django.setup()."""
    script = textwrap.dedent(
        """
        import fastsignal.django as fsd
        assert fsd.install()
        import django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                   "NAME": ":memory:"}},
        )
        from django.db.models.signals import class_prepared
        prepared = []
        class_prepared.connect(lambda sender, **kw: prepared.append(sender), weak=False)
        django.setup()
        from django.contrib.auth.models import Group
        assert Group in prepared, prepared
        assert fsd.is_accelerated(class_prepared)
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("error")
            assert fsd.install()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_uninstall_twice_is_harmless(installed):
    with uninstalled(installed.engine):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fsd.uninstall() is False
        assert not fsd.is_installed()
        assert_django_pristine()


SHOP_APP = {
    "shop/__init__.py": "",
    "shop/apps.py": """
        from django.apps import AppConfig


        class ShopConfig(AppConfig):
            name = "shop"

            def ready(self):
                from django.contrib.auth.models import Group
                from django.db.models.signals import post_save

                from fastsignal import receiver

                @receiver(post_save, sender=Group, on_commit=True, weak=False)
                def from_ready(sender, **kwargs):
                    print("from ready()")
        """,
    "shop/models.py": """
        from django.db.models.signals import post_save

        from fastsignal import receiver


        @receiver(post_save, sender="auth.Group", on_commit=True)
        def from_models(sender, **kwargs):
            print("from models.py")
        """,
}


@pytest.mark.parametrize("position", ["first", "last"])
def test_on_commit_receivers_of_an_app_listed_before_or_after_the_integration(tmp_path, position):
    """The app config installs fastsignal before any models module or ready() runs."""
    for name, source in SHOP_APP.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(source))
    apps = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
    apps.insert(0 if position == "first" else len(apps), "fastsignal.django")
    script = textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS={apps!r},
            DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
        )
        django.setup()
        from django.contrib.auth.models import Group
        from django.core.management import call_command
        from django.db import transaction
        call_command("migrate", run_syncdb=True, verbosity=0)
        with transaction.atomic():
            Group.objects.create(name="staff")
            print("committing")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n") == ["committing", "from models.py", "from ready()", ""]


def test_receiver_with_on_commit_on_a_dispatcher_without_it_says_what_to_do():
    """A Django signal before the integration is active: a TypeError naming the fix."""

    class DjangoLikeSignal:
        def connect(self, receiver, sender=None, weak=True, dispatch_uid=None):
            raise AssertionError("not reached")

    signal = DjangoLikeSignal()
    with pytest.raises(TypeError) as info:
        fastsignal.receiver(signal, on_commit=True)
    message = str(info.value)
    assert message.startswith("DjangoLikeSignal.connect() does not take on_commit")
    assert 'Put "fastsignal.django" first in INSTALLED_APPS' in message
    assert "fastsignal.django.install()" in message


def test_receiver_with_on_commit_on_installed_django_signals(engine):
    class Shop:
        pass

    calls = []

    order_paid = DjangoSignal()

    @fastsignal.receiver([post_save, order_paid], sender=Shop, on_commit=True, weak=False)
    def handler(sender, **kwargs):
        calls.append(sender)

    try:
        with transaction.atomic():
            post_save.send(sender=Shop, instance=None, created=True)
            order_paid.send(sender=Shop)
            assert calls == []
        assert calls == [Shop, Shop]
    finally:
        post_save.disconnect(handler, sender=Shop)
        order_paid.disconnect(handler, sender=Shop)
