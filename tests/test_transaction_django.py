"""``fastsignal.transaction`` with Django configured: ``on_commit`` delegates to Django.

Runs on the session's in-memory SQLite database (``conftest.py``); a module
fixture creates the tables (auth's by ``migrate``, ``txapp``'s ``Profile``
by the schema editor when the app is not installed). The plain test functions
commit for real and delete what they created; the ``django.test.TestCase``
classes check what ``captureOnCommitCallbacks`` sees.
"""

import functools
import logging

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test import TestCase

import fastsignal
from fastsignal.transaction import (
    DEFERRED,
    DjangoBackend,
    atomic,
    defer_receivers,
    get_backend,
    on_commit,
    send_on_commit,
    set_backend,
)

from txapp.models import Profile


class ForcedError(Exception):
    pass


@pytest.fixture(scope="module", autouse=True)
def database():
    from django.core.management import call_command

    if "auth_user" not in connection.introspection.table_names():
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    if Profile._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Profile)


@pytest.fixture(autouse=True)
def django_backend(request):
    previous = set_backend(None)
    assert isinstance(get_backend(), DjangoBackend)
    yield
    set_backend(previous)
    if not isinstance(request.instance, TestCase):  # TestCase's own block is still open
        assert not connection.in_atomic_block
        assert connection.run_on_commit == []


@pytest.fixture
def clean_db():
    yield
    Profile.objects.all().delete()
    User.objects.all().delete()


@pytest.fixture
def notified():
    return []


@pytest.fixture
def do(notified, clean_db):
    """``do(n)``: create a user and register a callback recording ``n`` (``"error"`` raises)."""

    def notify(value):
        if value == "error":
            raise ForcedError("hook failed")
        notified.append(value)

    def do(value, robust=False):
        User.objects.create(username=f"user-{value}")
        on_commit(lambda: notify(value), robust=robust)

    return do


def assert_done(notified, values):
    assert notified == values
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(
        f"user-{value}" for value in values
    )


# -- on_commit inside Django's transaction.atomic() ---------------------------------------


def test_executes_immediately_if_no_transaction(do, notified):
    do(1)
    assert_done(notified, [1])


def test_delays_execution_until_after_transaction_commit(do, notified):
    with transaction.atomic():
        do(1)
        assert notified == []
        assert connection.run_on_commit[-1][2] is False  # registered with Django
    assert_done(notified, [1])


def test_does_not_execute_if_transaction_rolled_back(do, notified):
    with pytest.raises(ForcedError):
        with transaction.atomic():
            do(1)
            raise ForcedError()
    assert_done(notified, [])


def test_discards_hooks_from_rolled_back_savepoint(do, notified):
    with transaction.atomic():
        with transaction.atomic():
            do(1)
        with pytest.raises(ForcedError):
            with transaction.atomic():
                do(2)
                raise ForcedError()
        with transaction.atomic():
            do(3)
    assert_done(notified, [1, 3])


def test_runs_hooks_in_order_registered(do, notified):
    with transaction.atomic():
        do(1)
        with transaction.atomic():
            do(2)
        do(3)
    assert_done(notified, [1, 2, 3])


def test_error_in_hook_doesnt_prevent_clearing_hooks(do, notified):
    with pytest.raises(ForcedError):
        with transaction.atomic():
            on_commit(lambda: do("error"))
    with transaction.atomic():
        do(1)
    assert notified == [1]


def test_using(clean_db, notified):
    with transaction.atomic(using="default"):
        on_commit(lambda: notified.append(1), using="default")
        assert notified == []
    assert notified == [1]


def test_robust_is_passed_to_django(caplog):
    def robust_callback():
        raise ForcedError("robust callback")

    with transaction.atomic():
        on_commit(robust_callback, robust=True)
        assert connection.run_on_commit[-1][2] is True
    [record] = [r for r in caplog.records if r.name == "django.db.backends.base"]
    assert record.levelno == logging.ERROR
    assert "robust_callback in on_commit() during transaction (robust callback)" in (
        record.getMessage()
    )


def test_raises_exception_non_callable():
    with pytest.raises(TypeError, match=r"^on_commit\(\)'s callback must be a callable\.$"):
        on_commit(None)


def test_standalone_atomic_does_not_scope_django_on_commit(notified):
    # With Django configured, on_commit follows Django's transactions only.
    with atomic():
        on_commit(lambda: notified.append(1))
        assert notified == [1]


# -- the signal helpers through Django ---------------------------------------------------


@pytest.fixture
def sig(engine):
    return engine.Signal()


def test_send_on_commit(sig, notified):
    def record(sender, **kwargs):
        notified.append((sender, kwargs))

    sig.connect(record)
    with transaction.atomic():
        send_on_commit(sig, "sender", using="default", a=1)
        with pytest.raises(ForcedError):
            with transaction.atomic():
                send_on_commit(sig, "sender", a=2)
                raise ForcedError()
        assert notified == []
    assert notified == [("sender", {"signal": sig, "using": "default", "a": 1})]


def test_defer_receivers_uses_the_using_keyword(sig, notified, clean_db):
    def create_profile(sender, instance, created, **kwargs):
        Profile.objects.create(user=instance)
        notified.append(instance.username)

    with transaction.atomic():
        user = User.objects.create(username="alice")
        named = {"instance": user, "created": True, "using": "default"}
        responses = defer_receivers(sig, User, named, [(create_profile, create_profile)], False)
        assert responses == [(create_profile, DEFERRED)]
        assert not Profile.objects.exists()
    assert notified == ["alice"]
    assert Profile.objects.get().user == user


def test_defer_receivers_rolled_back(sig, notified, clean_db):
    def create_profile(sender, instance, **kwargs):
        Profile.objects.create(user=instance)

    with pytest.raises(ForcedError):
        with transaction.atomic():
            user = User.objects.create(username="bob")
            pairs = [(create_profile, create_profile)]
            defer_receivers(sig, User, {"instance": user}, pairs, False)
            raise ForcedError()
    assert not Profile.objects.exists()
    assert not User.objects.exists()


# -- captureOnCommitCallbacks ------------------------------------------------------------


def callback():
    callback.calls += 1


class CaptureOnCommitCallbacksTests(TestCase):
    def setUp(self):
        callback.calls = 0

    def test_capture_sees_on_commit(self):
        with self.captureOnCommitCallbacks() as callbacks:
            on_commit(callback)
        self.assertEqual(callbacks, [callback])
        self.assertEqual(callback.calls, 0)

    def test_capture_execute(self):
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            on_commit(callback)
            on_commit(functools.partial(on_commit, callback))  # a hook adding a hook
        self.assertEqual(len(callbacks), 3)
        self.assertEqual(callback.calls, 2)

    def test_capture_send_on_commit(self):
        sig = fastsignal.Signal()
        received = []

        def record(sender, **kwargs):
            received.append(sender)

        sig.connect(record)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            send_on_commit(sig, "sender")
            self.assertEqual(received, [])
        self.assertEqual(len(callbacks), 1)
        self.assertEqual(received, ["sender"])

    def test_capture_deferred_receiver(self):
        sig = fastsignal.Signal()

        def create_profile(sender, instance, **kwargs):
            Profile.objects.create(user=instance)

        user = User.objects.create(username="carol")
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            pairs = [(create_profile, create_profile)]
            defer_receivers(sig, User, {"instance": user}, pairs, False)
            self.assertFalse(Profile.objects.exists())
        self.assertEqual([c.receiver for c in callbacks], [create_profile])
        self.assertEqual(Profile.objects.get().user, user)


class SeedScenarioTests(TestCase):
    """``@receiver(post_save, sender=User, on_commit=True)`` creates a Profile after commit."""

    def connect_create_profile(self, signal, **kwargs):
        @fastsignal.receiver(signal, sender=User, on_commit=True, **kwargs)
        def create_profile(sender, instance, created, **kwargs):
            if created:
                Profile.objects.create(user=instance)

        self.addCleanup(signal.disconnect, create_profile, sender=User)
        self.create_profile = create_profile  # weakly connected: keep it alive
        return create_profile

    def install_fastsignal(self):
        try:
            from fastsignal import django as fastsignal_django
        except ImportError:
            self.skipTest("fastsignal.django is not available")
        if not fastsignal_django.is_installed():
            fastsignal_django.install()
            self.addCleanup(fastsignal_django.uninstall)

    def test_post_save(self):
        self.install_fastsignal()
        create_profile = self.connect_create_profile(post_save)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            user = User.objects.create(username="dave")
            self.assertFalse(Profile.objects.exists())
        self.assertEqual([c.receiver for c in callbacks], [create_profile])
        self.assertEqual(Profile.objects.get().user, user)

    def test_post_save_captured_not_executed(self):
        self.install_fastsignal()
        self.connect_create_profile(post_save)
        with self.captureOnCommitCallbacks() as callbacks:
            User.objects.create(username="erin")
        self.assertEqual(len(callbacks), 1)
        self.assertFalse(Profile.objects.exists())

    def test_fastsignal_signal_sent_like_post_save(self):
        user_saved = fastsignal.Signal()
        create_profile = self.connect_create_profile(user_saved)
        with self.captureOnCommitCallbacks(execute=True):
            user = User.objects.create(username="frank")
            responses = user_saved.send(User, instance=user, created=True, using="default")
            self.assertEqual(responses, [(create_profile, DEFERRED)])
            self.assertFalse(Profile.objects.exists())
        self.assertEqual(Profile.objects.get().user, user)


# Real commits and rollbacks of the seed scenario (outside TestCase's transaction).


@pytest.fixture
def seed_receiver(clean_db):
    try:
        from fastsignal import django as fastsignal_django
    except ImportError:
        pytest.skip("fastsignal.django is not available")
    installed_here = not fastsignal_django.is_installed()
    if installed_here:
        fastsignal_django.install()
    try:

        @fastsignal.receiver(post_save, sender=User, on_commit=True)
        def create_profile(sender, instance, created, **kwargs):
            if created:
                Profile.objects.create(user=instance)

        yield create_profile
        post_save.disconnect(create_profile, sender=User)
    finally:
        if installed_here:
            fastsignal_django.uninstall()


def test_seed_scenario_commit(seed_receiver):
    with transaction.atomic():
        user = User.objects.create(username="grace")
        assert not Profile.objects.exists()
    assert Profile.objects.get().user == user


def test_seed_scenario_rollback(seed_receiver):
    with pytest.raises(ForcedError):
        with transaction.atomic():
            User.objects.create(username="heidi")
            raise ForcedError()
    assert not Profile.objects.exists()
    assert not User.objects.exists()
