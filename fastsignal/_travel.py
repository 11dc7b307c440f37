"""What a background receiver's arguments become on their way to a task worker, and back.

A task backend stores a task's arguments as JSON, and brokers, job stores,
result backends, admin pages and monitoring tools keep and show them. So
``pack`` turns a send's sender and keyword arguments into JSON values that
identify rows and never copy them, at send time, and ``unpack`` turns them back
in the worker:

- a model instance travels as its model label, primary key and database alias,
  nothing else: ``{"__fastsignal__": "instance", "model": "auth.User", "pk": 4,
  "db": "default"}``. The worker fetches the row again, so the receiver sees it
  as committed. Field values travel only for the fields the receiver names
  (``background={"fields": {"instance": ["email"]}}``), under ``"fields"``; when
  the row is gone by then (always for ``post_delete``), the instance is rebuilt
  from the primary key and those values, is not in the database
  (``instance._state.adding`` is true), and its other fields are deferred;
- a model class travels as its label; a queryset as its model label, alias and
  the primary keys it matched (it comes back as a queryset of those keys);
- a set or frozenset of strings, numbers, booleans and ``None`` as its items
  (it comes back as the same type);
- JSON values (``None``, booleans, numbers, strings, lists and tuples, and
  dicts with string keys) as themselves; tuples come back as lists, as with any
  JSON task argument, and subclasses (a ``str`` Enum, an ``IntEnum``) as the
  plain value.

Packing runs no SQL: it reads the instance's primary key and the named fields
that are loaded (a named field that is deferred on the instance is an error,
not a query). A queryset that was not evaluated is the one exception: its
primary keys are read with one query (pass the list of keys to avoid it).

Rows are fetched through the model's base manager, from the database alias
they came from, so a default manager that hides rows does not hide them from
the worker.

Anything else cannot travel: ``pack`` raises ``CannotTravel`` (a
``TypeError``) naming the argument and the receiver. Tagged values are dicts
with one key, ``"__fastsignal__"``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import math
from typing import Any

from ._engine import engine

TAG = "__fastsignal__"


class CannotTravel(TypeError):
    """An argument of a background receiver that a task worker could not receive."""


_PLAIN = frozenset({type(None), bool, int, str})  # travel as themselves, exactly these types
_pack_instance_keys = engine.pack_instance_keys


def pack_arguments(
    sender: Any, named: dict[str, Any], path: str, fields: dict[str, tuple[str, ...]]
) -> tuple[Any, dict[str, Any]]:
    """``(sender, named)`` packed for the background receiver at import ``path``.

    ``fields`` names, by argument, the model fields whose values travel too.
    Errors name the argument and the receiver.
    """
    if fields:
        return _pack_arguments_with_fields(sender, named, path, fields)
    # The common values (plain values, model classes and instances of a model
    # seen before) without a call each, the arguments in one call of the
    # engine: a send to a background receiver costs about what a hand-written
    # on_commit(partial(task.enqueue, pk)) costs.
    kind = type(sender)
    packed_sender = _packed_models.get(sender) if kind in _MODEL_CLASSES else None
    if packed_sender is not None:
        pass  # shared: task backends copy what they store
    elif kind in _PLAIN:
        packed_sender = sender
    else:
        packed_sender = pack(sender, _Where("the sender", path))
    packed, others = _pack_instance_keys(named, _instance_keys, TAG)
    if others is not None:
        for key in others:
            packed[key] = pack(named[key], _Where(f"argument {key!r}", path))
    return packed_sender, packed


def _pack_arguments_with_fields(
    sender: Any, named: dict[str, Any], path: str, fields: dict[str, tuple[str, ...]]
) -> tuple[Any, dict[str, Any]]:
    packed_sender = pack(sender, _Where("the sender", path), fields.get("sender"))
    packed = {
        key: pack(value, _Where(f"argument {key!r}", path), fields.get(key))
        for key, value in named.items()
    }
    for key in fields:
        if key != "sender" and key not in named:
            raise CannotTravel(
                f"background receiver {path} names fields of argument {key!r}, "
                "which the send did not pass"
            )
    return packed_sender, packed


# Filled by pack() as it meets them: metaclasses of models; model class -> its
# packed form; model class -> (label, primary key attname) for its instances.
_MODEL_CLASSES: set[type] = set()
_packed_models: dict[type, dict[str, Any]] = {}
_instance_keys: dict[type, tuple[str, str]] = {}


class _Where:
    """Names an argument in an error message; formatted only when one is raised."""

    __slots__ = ("argument", "path")

    def __init__(self, argument: str, path: str) -> None:
        self.argument = argument
        self.path = path

    def __str__(self) -> str:
        return f"{self.argument} of background receiver {self.path}"


def pack(value: Any, where: object, fields: tuple[str, ...] | None = None) -> Any:
    """``value`` as JSON values; ``where`` names it in the error if it cannot travel.

    ``fields``: the model fields whose values travel with a model instance.
    """
    if fields is not None and not _is_instance(value):
        raise CannotTravel(
            f"{where} is a {type(value).__qualname__}, not a model instance, but the "
            f"receiver names fields of it ({', '.join(fields)})"
        )
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
    django_value = _pack_django(value, where, fields)
    if django_value is not None:
        return django_value
    raise CannotTravel(
        f"{where} is {type(value).__qualname__} {value!r:.80}, which cannot travel to a task "
        "worker: pass model instances, model classes, querysets, sets or JSON values"
    )


def _is_instance(value: Any) -> bool:
    models = _django_models()
    return models is not None and isinstance(value, models.Model)


def _pack_django(value: Any, where: object, fields: tuple[str, ...] | None) -> Any:
    models = _django_models()
    if models is None:
        return None
    if isinstance(value, models.Model):
        pk = value.pk
        if pk is None:
            raise CannotTravel(
                f"{where} is an unsaved {type(value).__qualname__} (its primary key is "
                "None): only saved rows can travel to a task worker; send after saving it"
            )
        meta = value._meta
        _instance_keys[type(value)] = (meta.label, meta.pk.attname)
        packed = {
            TAG: "instance",
            "model": meta.label,
            "pk": pk if type(pk) is int or type(pk) is str else _pack_pk(pk),
            "db": value._state.db,
        }
        if fields:
            packed["fields"] = _field_values(value, fields, where)
        return packed
    if isinstance(value, type) and issubclass(value, models.Model):
        model: Any = value
        packed_model = {TAG: "model", "model": model._meta.label}
        _MODEL_CLASSES.add(type(model))
        _packed_models[model] = packed_model
        return dict(packed_model)
    if isinstance(value, models.QuerySet):
        cached = value._result_cache
        if cached is not None and value._iterable_class is models.query.ModelIterable:
            pks = [_pack_pk(row.pk) for row in cached]
        else:  # one query: the keys it matches now
            pks = [_pack_pk(pk) for pk in value.values_list("pk", flat=True)]
        return {TAG: "queryset", "model": value.model._meta.label, "db": value.db, "pks": pks}
    return None


# (model, field names) -> ((name, attname, field), ...)
_field_cache: dict[tuple[type, tuple[str, ...]], tuple[tuple[str, str, Any], ...]] = {}


def check_fields(
    model: Any, names: tuple[str, ...], where: object
) -> tuple[tuple[str, str, Any], ...]:
    """The fields of ``model`` that ``names`` name, or a ``CannotTravel`` naming a bad one."""
    known = _field_cache.get((model, names))
    if known is not None:
        return known
    from django.core.exceptions import FieldDoesNotExist

    found = []
    for name in names:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not getattr(field, "concrete", False) or field.many_to_many:
            raise CannotTravel(
                f"{where} names the field {name!r}, which {model._meta.label} does not have "
                "as a column: name concrete fields of the model (not many-to-many fields "
                "nor reverse relations)"
            )
        found.append((name, field.attname, field))
    result = tuple(found)
    _field_cache[(model, names)] = result
    return result


def _field_values(instance: Any, names: tuple[str, ...], where: object) -> dict[str, Any]:
    loaded = instance.__dict__
    values = {}
    for name, attname, field in check_fields(type(instance), names, where):
        if attname not in loaded:  # deferred: reading it would query the database
            raise CannotTravel(
                f"{where} has the field {name!r} deferred (not loaded); packing it would "
                "query the database: load it before the send (only(), or no defer())"
            )
        value = loaded[attname]
        if value is not None and type(value) not in _PLAIN and type(value) is not float:
            value = field.value_to_string(instance)  # dates, decimals, UUIDs: as serializers do
        values[attname] = pack(value, f"{where} field {name!r}")
    return values


def _pack_pk(pk: Any) -> Any:
    """A primary key as JSON: UUIDs, dates, decimals as Django's JSON encoder writes them."""
    if isinstance(pk, (int, str)) and not isinstance(pk, bool):
        return pk
    from django.core.serializers.json import DjangoJSONEncoder

    return DjangoJSONEncoder().default(pk)


_models: Any = None  # django.db.models, once imported


def _django_models() -> Any:
    global _models
    if _models is None:
        import sys

        _models = sys.modules.get("django.db.models")  # a model instance implies it is imported
        if _models is not None:
            from django.db.models import query  # noqa: F401  (models.query below)
    return _models


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
    if "row" in value:  # enqueued by a version that copied the row
        from django.core import serializers

        [rebuilt] = serializers.deserialize("json", value["row"])
        instance = rebuilt.object
    else:  # the primary key and the fields the receiver named; the rest deferred
        model = manager.model
        values = dict(value.get("fields", {}))
        values[model._meta.pk.attname] = pk
        names, row = [], []
        for field in model._meta.concrete_fields:
            if field.attname in values:
                names.append(field.attname)
                raw = values[field.attname]
                row.append(raw if field.primary_key else field.to_python(raw))
        instance = model.from_db(value["db"], names, row)
    instance._state.adding = True  # not in the database
    instance._state.db = value["db"]
    return instance
