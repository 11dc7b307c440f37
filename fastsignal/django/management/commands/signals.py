"""``python manage.py signals``: what is connected to which signal, as a table or JSON.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fastsignal.introspect import ReceiverInfo, describe_sender, receivers, signals

if TYPE_CHECKING:
    from argparse import ArgumentParser


class Command(BaseCommand):
    help = (
        "List the receivers connected to each signal of the imported modules, in call "
        "order, with their sender, flags and source location."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--app",
            dest="app_label",
            help="only receivers defined in this app, or listening to its models",
        )
        parser.add_argument(
            "--model", help="only receivers listening to this model (app_label.Model or Model)"
        )
        parser.add_argument(
            "--signal", help="only signals whose name or path ends with this (post_save)"
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="also list signals with no receivers, and receivers that died",
        )
        parser.add_argument(
            "--format",
            choices=("table", "json"),
            default="table",
            help="table (the default: source locations relative to the project) or json "
            "(absolute paths, for tools)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app_module, app_label = self._app(options["app_label"])
        model = self._model(options["model"])
        wanted = options["signal"]
        listing = []
        found = False
        for path, signal in signals():
            if wanted and not (path == wanted or path.endswith("." + wanted)):
                continue
            found = True
            infos = [
                info
                for info in receivers(signal)
                if (info.alive or options["all"]) and _matches(info, app_label, app_module, model)
            ]
            if infos or (options["all"] and not (app_label or model)):
                listing.append((path, infos))
        if wanted and not found:
            raise CommandError(
                f"No signal named {wanted!r} among the signals of the imported modules "
                "(python manage.py signals --all lists them)."
            )
        if options["format"] == "json":
            data = [
                {"signal": path, "receivers": [info.as_dict() for info in infos]}
                for path, infos in listing
            ]
            self.stdout.write(json.dumps(data, indent=2))
        else:
            self.stdout.write(_table(listing))

    def _app(self, label: str | None) -> tuple[str | None, str | None]:
        if not label:
            return None, None
        try:
            config = apps.get_app_config(label)
        except LookupError:
            raise CommandError(f"No installed app with label {label!r}.") from None
        return config.name, config.label

    def _model(self, name: str | None) -> type | None:
        if not name:
            return None
        if "." in name:
            try:
                return apps.get_model(name)
            except (LookupError, ValueError):
                raise CommandError(f"No model {name!r}.") from None
        found = [m for m in apps.get_models() if m.__name__.lower() == name.lower()]
        if len(found) != 1:
            raise CommandError(
                f"No model named {name!r}."
                if not found
                else f"Several models are named {name!r}: use app_label.Model "
                f"({', '.join(m._meta.label for m in found)})."
            )
        return found[0]


def _matches(
    info: ReceiverInfo, app_label: str | None, app_module: str | None, model: type | None
) -> bool:
    if model is not None and info.sender is not model:
        return False
    if app_label is not None:
        sender_label = getattr(getattr(info.sender, "_meta", None), "app_label", None)
        module = info.module or ""
        in_app = module == app_module or module.startswith(f"{app_module}.")
        return in_app or sender_label == app_label
    return True


def _flags(info: ReceiverInfo) -> str:
    flags = ["weak" if info.weak else "strong"]
    if info.is_async:
        flags.append("async")
    if info.on_commit:
        flags.append("on_commit")
    if info.background:
        flags.append("background")
    if info.dispatch_uid is not None:
        flags.append(f"uid={info.dispatch_uid!r}")
    if not info.alive:
        flags.append("dead")
    return ", ".join(flags)


def _in_project(file: str) -> str:
    """``file`` relative to the project (``settings.BASE_DIR``, else the current
    directory) when it is inside it; otherwise as it is."""
    base = getattr(settings, "BASE_DIR", None)
    root = Path(base) if base else Path.cwd()
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return file


def _table(listing: list[tuple[str, list[ReceiverInfo]]]) -> str:
    if not listing:
        return "No receivers connected."
    header = ("priority", "receiver", "sender", "flags", "defined at")
    blocks = []
    for path, infos in listing:
        rows = [
            (
                str(info.priority),
                f"{info.module}.{info.name}" if info.module else info.name,
                describe_sender(info.sender) or "(any)",
                _flags(info),
                f"{_in_project(info.file)}:{info.line}" if info.file else "",
            )
            for info in infos
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [f"{path} ({len(infos)} receiver{'s' if len(infos) != 1 else ''})"]
        for row in [header, *rows]:
            lines.append(
                "  "
                + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
