"""fastsignal.introspect and ``manage.py signals``: what is connected, in call order."""

import functools
import gc
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.dispatch import Signal as DjangoSignal

import fastsignal
from fastsignal import introspect
from fastsignal.django.management.commands.signals import Command as SignalsCommand

order_paid = fastsignal.Signal()  # found by introspect.signals()


class Shop:
    def on_paid(self, sender, **kwargs):
        pass


class Callback:
    def __call__(self, sender, **kwargs):
        pass


def audit(sender, **kwargs):
    pass


async def notify(sender, **kwargs):
    pass


def test_records_describe_each_receiver_in_call_order(engine):
    sig = engine.Signal()
    shop = Shop()
    sig.connect(audit)
    sig.connect(shop.on_paid, sender=Shop, dispatch_uid="shop-paid", priority=5)
    sig.connect(notify, weak=False)
    sig.connect(functools.partial(audit), weak=False, on_commit=True)
    records = introspect.receivers(sig)
    assert [r.name for r in records] == ["Shop.on_paid", "audit", "notify", "partial(audit)"]
    first = records[0]
    assert first.module == __name__
    assert first.file == __file__ and first.line == Shop.on_paid.__code__.co_firstlineno
    assert first.sender is Shop and first.dispatch_uid == "shop-paid"
    assert first.weak and not first.is_async and not first.on_commit
    assert first.priority == 5 and first.alive and first.receiver == shop.on_paid
    assert records[1].sender is None and records[1].dispatch_uid is None
    assert records[2].is_async and not records[2].weak
    assert records[3].on_commit and records[3].line == audit.__code__.co_firstlineno
    assert json.loads(json.dumps(first.as_dict()))["sender"] == f"{__name__}.Shop"


def test_dead_receivers_are_reported_until_removed(engine):
    sig = engine.Signal()
    callback = Callback()
    sig.connect(callback)
    [record] = introspect.receivers(sig)
    assert record.name == "Callback instance"
    assert record.line == Callback.__call__.__code__.co_firstlineno
    del callback, record
    gc.collect()
    records = introspect.receivers(sig)
    assert records == [] or (records[0].alive is False and records[0].receiver is None)


def test_works_on_djangos_own_dispatcher():
    sig = DjangoSignal()
    sig.connect(audit, sender=Shop, dispatch_uid="audit")
    [record] = introspect.receivers(sig)
    assert record.name == "audit" and record.dispatch_uid == "audit" and record.alive
    # Django 6 keeps a weak reference to the sender; Django 5.2 only its id.
    assert record.sender is Shop or record.sender == f"<sender id {id(Shop):#x}>"


def test_signals_lists_module_level_signals_once():
    found = dict(introspect.signals(__name__))
    assert found == {f"{__name__}.order_paid": order_paid}
    names = [name for name, _ in introspect.signals("django.db.models.signals")]
    assert "django.db.models.signals.post_save" in names
    assert all(name.startswith("django.db.models.signals") for name in names)


@pytest.fixture
def shop_receivers():
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_save

    def reserve(sender, **kwargs):
        pass

    post_save.connect(reserve, sender=Group, weak=False, priority=3, dispatch_uid="reserve")
    post_save.connect(audit, sender=Group, weak=False, on_commit=True)
    yield
    post_save.disconnect(sender=Group, dispatch_uid="reserve")
    post_save.disconnect(audit, sender=Group)


@pytest.fixture
def installed():
    import fastsignal.django as fsd

    was_installed = fsd.is_installed()
    fsd.install()
    yield
    if not was_installed:
        fsd.uninstall()


def test_command_table(installed, shop_receivers, capsys):
    call_command(SignalsCommand(), model="auth.Group")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "django.db.models.signals.post_save (2 receivers)"
    assert lines[1].split() == ["priority", "receiver", "sender", "flags", "defined", "at"]
    assert lines[2].split()[:4] == [
        "3",
        f"{__name__}.shop_receivers.<locals>.reserve",
        "auth.Group",
        "strong,",
    ]
    assert "uid='reserve'" in lines[2]
    assert lines[3].split()[:5] == ["0", f"{__name__}.audit", "auth.Group", "strong,", "on_commit"]
    # Relative to the project: settings.BASE_DIR, else (here) the current directory.
    try:
        where = Path(__file__).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # the suite run from outside the checkout
        where = __file__
    assert lines[3].endswith(f"  {where}:{audit.__code__.co_firstlineno}")


def test_command_json_and_filters(installed, shop_receivers, capsys):
    call_command(SignalsCommand(), signal="post_save", app_label="auth", format="json")
    data = json.loads(capsys.readouterr().out)
    assert [entry["signal"] for entry in data] == ["django.db.models.signals.post_save"]
    assert [r["name"] for r in data[0]["receivers"]] == ["shop_receivers.<locals>.reserve", "audit"]
    assert data[0]["receivers"][0]["priority"] == 3
    call_command(SignalsCommand(), signal="pre_delete", model="auth.Group")
    assert capsys.readouterr().out.strip() == "No receivers connected."


def test_command_rejects_unknown_app_and_model(installed):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No installed app with label 'nope'"):
        call_command(SignalsCommand(), app_label="nope")
    with pytest.raises(CommandError, match=r"No model 'auth\.Nope'"):
        call_command(SignalsCommand(), model="auth.Nope")


def test_command_rejects_an_unknown_signal(installed, capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"No signal named 'nope' among the signals"):
        call_command(SignalsCommand(), signal="nope")
    with pytest.raises(CommandError, match=r"No signal named 'nope'"):
        call_command(SignalsCommand(), signal="nope", format="json")
    assert capsys.readouterr().out == ""


def test_command_table_paths_are_relative_to_base_dir(installed, shop_receivers, capsys):
    from django.test import override_settings

    tests_dir = Path(__file__).resolve().parent
    with override_settings(BASE_DIR=tests_dir):
        call_command(SignalsCommand(), model="auth.Group")
    line = capsys.readouterr().out.splitlines()[3]
    assert line.endswith(f"  {Path(__file__).name}:{audit.__code__.co_firstlineno}")
    call_command(SignalsCommand(), model="auth.Group", format="json")
    data = json.loads(capsys.readouterr().out)
    assert data[0]["receivers"][1]["file"] == __file__  # JSON keeps the path as it is


def test_command_help_describes_every_option():
    parser = SignalsCommand().create_parser("manage.py", "signals")
    undocumented = [
        action.dest for action in parser._actions if action.option_strings and not action.help
    ]
    assert undocumented == []


def test_command_in_a_new_django_project(tmp_path):
    """``python manage.py signals`` in a fresh ``startproject`` with the app installed."""
    import subprocess
    import sys

    def run(*args):
        result = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("-m", "django", "startproject", "mysite", ".")
    settings = tmp_path / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "fastsignal.django",'
        )
    )
    data = json.loads(run("manage.py", "signals", "--signal", "user_logged_in", "--format", "json"))
    assert data == [
        {
            "signal": "django.contrib.auth.signals.user_logged_in",
            "receivers": [
                {
                    "name": "update_last_login",
                    "module": "django.contrib.auth.models",
                    "file": data[0]["receivers"][0]["file"],
                    "line": data[0]["receivers"][0]["line"],
                    "sender": None,
                    "dispatch_uid": "update_last_login",
                    "weak": True,
                    "is_async": False,
                    "on_commit": False,
                    "priority": 0,
                    "background": False,
                    "alive": True,
                }
            ],
        }
    ]
    assert data[0]["receivers"][0]["file"].endswith("django/contrib/auth/models.py")
    table = run("manage.py", "signals", "--signal", "request_started")
    assert table.splitlines()[0] == "django.core.signals.request_started (2 receivers)"
    # The project's own receivers are shown relative to it, as the docs show them.
    (tmp_path / "mysite" / "receivers.py").write_text(
        "from django.core.signals import request_finished\n\n\n"
        "def on_finished(sender, **kwargs):\n    pass\n\n\n"
        "request_finished.connect(on_finished)\n"
    )
    with settings.open("a") as file:
        file.write("\nimport mysite.receivers  # noqa\n")
    table = run("manage.py", "signals", "--signal", "request_finished")
    assert "  mysite/receivers.py:4" in table, table
    unknown = subprocess.run(
        [sys.executable, "manage.py", "signals", "--signal", "nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert unknown.returncode != 0
    assert "No signal named 'nope'" in unknown.stderr
