"""What a background receiver's arguments become on their way to a task worker, and back.

A task backend stores a task's arguments as JSON. ``pack`` turns a send's
sender and keyword arguments into JSON values, at send time, and ``unpack``
turns them back in the worker:

- a model instance travels as its model label, primary key, database alias and
  field values (Django's JSON serializer); the worker fetches the row again, so
  the receiver sees it as committed; when the row is gone by then (always for
  ``post_delete``), the instance is rebuilt from the values it had at send time
  and is not in the database (``instance._state.adding`` is true);
- a model class travels as its label; a queryset as its model label and the
  primary keys it matched (it comes back as a queryset of those keys);
- a set or frozenset of strings, numbers, booleans and ``None`` as its items
  (it comes back as the same type);
- JSON values (``None``, booleans, numbers, strings, lists and tuples, and
  dicts with string keys) as themselves; tuples come back as lists, as with any
  JSON task argument, and subclasses (a ``str`` Enum, an ``IntEnum``) as the
  plain value.

The database alias of an instance or queryset travels too, and rows are
fetched through the model's base manager, so a default manager that hides
rows does not hide them from the worker.

Anything else cannot travel: ``pack`` raises ``TypeError`` naming the argument.
Tagged values are dicts with one key, ``"__fastsignal__"``.
"""

from __future__ import annotations

import math
from typing import Any

TAG = "__fastsignal__"


class CannotTravel(TypeError):
    """An argument of a background receiver that a task worker could not receive."""


def pack(value: Any, where: str) -> Any:
    """``value`` as JSON values; ``where`` names it in the error if it cannot travel."""
    # Subclasses (a str Enum, an IntEnum) become the plain value, as in a worker.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CannotTravel(f"{where} is {value!r}, which JSON cannot hold")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [pack(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        kind = "frozenset" if isinstance(value, frozenset) else "set"
        items = [pack(item, f"{where} item") for item in value]
        for item in items:
            if isinstance(item, (list, dict)):  # would come back unhashable
                raise CannotTravel(
                    f"{where} holds a tuple or a tagged value; only sets of strings, numbers, "
                    "booleans and None can travel"
                )
        return {TAG: kind, "items": items}
    if isinstance(value, dict):
        packed = {}
        for key, item in value.items():
            if not isinstance(key, str) or key == TAG:
                raise CannotTravel(f"{where} has the key {key!r}: only string keys can travel")
            packed[key] = pack(item, f"{where}[{key!r}]")
        return packed
    django_value = _pack_django(value)
    if django_value is not None:
        return django_value
    raise CannotTravel(
        f"{where} is {type(value).__qualname__} {value!r:.80}, which cannot travel to a task "
        "worker: pass model instances, model classes, querysets, sets or JSON values"
    )


def _pack_django(value: Any) -> dict[str, Any] | None:
    models = _django_models()
    if models is None:
        return None
    if isinstance(value, models.Model):
        if value.pk is None:
            raise CannotTravel(f"{value!r} has no primary key: only saved rows can travel")
        from django.core import serializers

        return {
            TAG: "instance",
            "model": value._meta.label,
            "pk": _pack_pk(value.pk),
            "db": value._state.db,
            "row": serializers.serialize("json", [value]),
        }
    if isinstance(value, type) and issubclass(value, models.Model):
        model: Any = value
        return {TAG: "model", "model": model._meta.label}
    if isinstance(value, models.QuerySet):
        pks = [_pack_pk(pk) for pk in value.values_list("pk", flat=True)]
        return {TAG: "queryset", "model": value.model._meta.label, "db": value.db, "pks": pks}
    return None


def _pack_pk(pk: Any) -> Any:
    """A primary key as JSON: UUIDs, dates, decimals as Django's JSON encoder writes them."""
    if isinstance(pk, (int, str)) and not isinstance(pk, bool):
        return pk
    from django.core.serializers.json import DjangoJSONEncoder

    return DjangoJSONEncoder().default(pk)


def _django_models() -> Any:
    import sys

    if "django.db.models" not in sys.modules:  # a model instance implies it is imported
        return None
    from django.db import models

    return models


def unpack(value: Any) -> Any:
    """The value ``pack`` was given (see the module docstring for what changes)."""
    if isinstance(value, list):
        return [unpack(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return {key: unpack(item) for key, item in value.items()}
    if kind == "set":
        return {unpack(item) for item in value["items"]}
    if kind == "frozenset":
        return frozenset(unpack(item) for item in value["items"])
    from django.apps import apps

    model = apps.get_model(value["model"])
    if kind == "model":
        return model
    # The base manager: a default manager may hide rows (archived, soft-deleted).
    manager = model._base_manager.using(value["db"])
    to_python = model._meta.pk.to_python
    if kind == "queryset":
        return manager.filter(pk__in=[to_python(pk) for pk in value["pks"]])
    if kind == "instance":
        return _instance(manager, to_python(value["pk"]), value)
    raise ValueError(f"unknown travelling value {value!r}")


def _instance(manager: Any, pk: Any, value: dict[str, Any]) -> Any:
    instance = manager.filter(pk=pk).first()
    if instance is not None:
        return instance
    from django.core import serializers

    [rebuilt] = serializers.deserialize("json", value["row"])
    instance = rebuilt.object  # not in the database: _state.adding is true
    instance._state.db = value["db"]
    return instance
