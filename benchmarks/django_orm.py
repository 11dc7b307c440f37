"""End-to-end Django ORM workloads on SQLite, with fastsignal installed and without.

    python -m benchmarks.django_orm [--repeat N] [--rows N] [--saves N] [--json FILE]

Two workloads on a small model (``BenchRow``: three fields) in an in-memory
SQLite database:

``orm-iterate``
    iterate over 10,000 instances (``list(queryset)``) with a ``post_init``
    receiver connected: every row builds a model instance, whose ``__init__``
    sends ``pre_init`` and ``post_init``.
``orm-save``
    ``save()`` 2,000 existing instances (an UPDATE each; batches of 100, each in
    one transaction and timed on its own) with ``pre_save`` and ``post_save``
    receivers connected.

Each runs in three modes, interleaved round by round in one process (best round
kept; the order of the modes rotates):

``installed``    ``fastsignal.django.install()``: Django's signals on fastsignal
``django``       Django's own dispatcher (``fastsignal.django.uninstall()``)
``no-dispatch``  Django's dispatcher, with the signals' ``send`` replaced by a
                 no-op returning ``[]``: the same work minus dispatching

The time spent dispatching in a mode is its time minus ``no-dispatch``'s (the
receivers themselves do nothing, so this is the cost of the sends); its share is
that difference over the mode's time. ``run()`` returns all of it as a dict, for
the report command; the pytest-benchmark suite is ``benchmarks/test_django_orm.py``.

The database is a connection alias of its own (``fastsignal_bench``), added to
whatever Django configuration is in place (settings are configured here if no one
did), and the model lives in an app label of its own: nothing else is touched.
"""

import argparse
import functools
import gc
import json
import platform
import sys
import time

import django
from django.conf import settings

ALIAS = "fastsignal_bench"
APP_LABEL = "fastsignal_bench"
ROWS = 10_000
SAVES = 2_000
SAVE_BATCH = 100
MODES = ("installed", "django", "no-dispatch")
DISPATCHING = ("installed", "django")
WORKLOADS = {
    "orm-iterate": (
        "iterate over model instances (pre_init + post_init per row, post_init receiver)"
    ),
    "orm-save": "save() existing instances (pre_save + post_save per row, one receiver each)",
}
_DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


def setup_django():
    """Configure Django if needed and make the ``fastsignal_bench`` database alias."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            DATABASES={"default": dict(_DATABASE), ALIAS: dict(_DATABASE)},
            INSTALLED_APPS=[],
        )
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.db import connections

    if ALIAS not in connections.settings:
        # Settings came from elsewhere (the benchmark conftest, the report):
        # add the alias with Django's defaults filled in.
        configured = connections.configure_settings({"default": {}, ALIAS: dict(_DATABASE)})
        connections.settings[ALIAS] = configured[ALIAS]


@functools.cache
def model():
    """The benchmark model, defined once Django is set up."""
    setup_django()
    from django.db import models

    class BenchRow(models.Model):
        name = models.CharField(max_length=40)
        value = models.IntegerField()
        active = models.BooleanField(default=True)

        class Meta:
            app_label = APP_LABEL

    return BenchRow


def create_table(rows=ROWS):
    """Create ``BenchRow``'s table on the bench alias (once), with at least ``rows`` rows."""
    from django.db import connections

    row_model = model()
    connection = connections[ALIAS]
    if row_model._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(row_model)
    manager = row_model.objects.using(ALIAS)
    count = manager.count()
    if count < rows:
        manager.bulk_create(
            [row_model(name=f"row {i}", value=i) for i in range(count, rows)], batch_size=1000
        )
    return row_model


# -- receivers (they do nothing: the time measured is the dispatch around them) ------


def on_post_init(sender, instance, **kwargs):
    return None


def on_pre_save(sender, instance, **kwargs):
    return None


def on_post_save(sender, instance, created, **kwargs):
    return None


_connections = 0


def connect_receivers():
    """Connect the workloads' receivers (nested calls are counted)."""
    global _connections
    from django.db.models.signals import post_init, post_save, pre_save

    _connections += 1
    if _connections == 1:
        row_model = model()
        post_init.connect(on_post_init, sender=row_model)
        pre_save.connect(on_pre_save, sender=row_model)
        post_save.connect(on_post_save, sender=row_model)


def disconnect_receivers():
    """Undo one ``connect_receivers()``; the last one disconnects."""
    global _connections
    from django.db.models.signals import post_init, post_save, pre_save

    _connections -= 1
    if _connections == 0:
        row_model = model()
        post_init.disconnect(on_post_init, sender=row_model)
        pre_save.disconnect(on_pre_save, sender=row_model)
        post_save.disconnect(on_post_save, sender=row_model)


# -- modes ---------------------------------------------------------------------------


def _no_send(sender, **named):
    return []


class mode:
    """Context manager putting Django's signals in one of ``MODES``.

    Restores the install state found on entry.
    """

    def __init__(self, name):
        if name not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {name!r}")
        self.name = name

    def __enter__(self):
        from django.db.models import signals

        import fastsignal.django

        self.was_installed = fastsignal.django.is_installed()
        if self.name == "installed":
            fastsignal.django.install()
        else:
            fastsignal.django.uninstall()
        self.muted = []
        if self.name == "no-dispatch":
            for signal in (
                signals.pre_init,
                signals.post_init,
                signals.pre_save,
                signals.post_save,
            ):
                vars(signal)["send"] = _no_send  # an instance attribute shadows the method
                self.muted.append(signal)
        return self

    def __exit__(self, *exc_info):
        import fastsignal.django

        for signal in self.muted:
            del vars(signal)["send"]
        if self.was_installed:
            fastsignal.django.install()
        else:
            fastsignal.django.uninstall()


# -- the workloads -----------------------------------------------------------------


def iterate_rows(rows=ROWS):
    """Build ``rows`` rows of the table as model instances; return how many."""
    return len(list(model().objects.using(ALIAS).order_by("pk")[:rows]))


def load_for_save(saves=SAVES):
    return list(model().objects.using(ALIAS).order_by("pk")[:saves])


def save_rows(objs):
    """``save()`` each instance (an UPDATE) inside one transaction; return how many."""
    from django.db import transaction

    with transaction.atomic(using=ALIAS):
        for obj in objs:
            obj.value += 1
            obj.save(using=ALIAS)
    return len(objs)


def _dispatch_case(workload, objs):
    """A ``timeit`` statement making exactly the sends one row of ``workload`` makes."""
    from django.db.models import signals

    row_model = model()
    namespace = {
        "signals": signals,
        "M": row_model,
        "obj": objs[0],
        "ARGS": tuple(range(len(row_model._meta.concrete_fields))),
        "KWARGS": {},
        "ALIAS": ALIAS,
    }
    if workload == "orm-iterate":  # Model.__init__
        stmt = (
            "signals.pre_init.send(sender=M, args=ARGS, kwargs=KWARGS); "
            "signals.post_init.send(sender=M, instance=obj)"
        )
    else:  # Model.save_base
        stmt = (
            "signals.pre_save.send(sender=M, instance=obj, raw=False, using=ALIAS, "
            "update_fields=None); "
            "signals.post_save.send(sender=M, instance=obj, created=False, "
            "update_fields=None, raw=False, using=ALIAS)"
        )
    return stmt, namespace


def _time_dispatch(workload, objs, number=20_000):
    """Best time, in ns, of the sends one row of ``workload`` makes."""
    import timeit

    stmt, namespace = _dispatch_case(workload, objs)
    timer = timeit.Timer(stmt, globals=namespace)
    return min(timer.repeat(repeat=3, number=number)) / number * 1e9


def _time(function, *args):
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        function(*args)
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


def run(repeat=7, rows=ROWS, saves=SAVES):
    """Time both workloads in every mode, interleaved; return the results.

    ``{"orm-iterate": {...}, "orm-save": {...}, "meta": {...}}``. Each workload has
    ``rows`` (rows per round), ``ns_per_row`` ``{mode: ns}`` (best of ``repeat``
    rounds, after one warm-up round; for the saves, the sum of each batch's best),
    and for ``installed`` and ``django``:

    - ``dispatch_ns_per_row``: the sends one row makes, timed on their own
      (``timeit``, same signals, receivers and arguments);
    - ``dispatch_ns_per_row_by_difference``: ``ns_per_row`` minus
      ``no-dispatch``'s, the end-to-end check of the former (noisier: a
      difference of two larger numbers);
    - ``dispatch_share``: ``dispatch_ns_per_row`` / ``ns_per_row``;

    and ``speedup`` (per row, ``django`` / ``installed``) and ``dispatch_speedup``.
    """
    import fastsignal

    create_table(rows)
    objs = load_for_save(saves)
    connect_receivers()
    # The saves run in batches, each timed on its own and kept at its best round,
    # so that a burst of noise spoils one batch of one round, not a whole round.
    batches = [objs[i : i + SAVE_BATCH] for i in range(0, len(objs), SAVE_BATCH)]
    iterate_best = dict.fromkeys(MODES, float("inf"))
    save_best = {(m, b): float("inf") for m in MODES for b in range(len(batches))}
    direct = {(w, m): float("inf") for w in WORKLOADS for m in DISPATCHING}
    try:
        for round_number in range(repeat + 1):  # round 0 warms up and is not counted
            # Rotate the order of the modes from round to round.
            for name in MODES[round_number % 3 :] + MODES[: round_number % 3]:
                with mode(name):
                    iterate_ns = _time(iterate_rows, rows) / rows
                    save_ns = [_time(save_rows, batch) for batch in batches]
                    if name in DISPATCHING:
                        for workload in WORKLOADS:
                            direct[workload, name] = min(
                                direct[workload, name], _time_dispatch(workload, objs)
                            )
                if round_number:
                    iterate_best[name] = min(iterate_best[name], iterate_ns)
                    for index, ns in enumerate(save_ns):
                        save_best[name, index] = min(save_best[name, index], ns)
    finally:
        disconnect_receivers()
    best = {("orm-iterate", m): iterate_best[m] for m in MODES}
    for name in MODES:
        total = sum(save_best[name, index] for index in range(len(batches)))
        best["orm-save", name] = total / len(objs)
    results = {}
    for workload, title in WORKLOADS.items():
        per_row = {m: best[workload, m] for m in MODES}
        floor = per_row["no-dispatch"]
        dispatch = {m: direct[workload, m] for m in DISPATCHING}
        results[workload] = {
            "title": title,
            "rows": rows if workload == "orm-iterate" else len(objs),
            "ns_per_row": per_row,
            "dispatch_ns_per_row": dispatch,
            "dispatch_ns_per_row_by_difference": {m: per_row[m] - floor for m in DISPATCHING},
            "dispatch_share": {m: dispatch[m] / per_row[m] for m in DISPATCHING},
            "speedup": per_row["django"] / per_row["installed"],
            "dispatch_speedup": dispatch["django"] / dispatch["installed"],
        }
    results["meta"] = {
        "repeat": repeat,
        "python": platform.python_version(),
        "django": django.get_version(),
        "fastsignal": fastsignal.__version__,
        "compiled": fastsignal.COMPILED,
        "sqlite": _sqlite_version(),
    }
    return results


def _sqlite_version():
    import sqlite3

    return sqlite3.sqlite_version


def format_report(results):
    """A Markdown table of ``run()``'s results."""
    lines = [
        "| workload | rows | ns/row fastsignal | ns/row django | ns/row no dispatch "
        "| dispatch ns/row fastsignal | dispatch ns/row django "
        "| dispatch share fastsignal | dispatch share django | speedup per row |",
        "|" + " --- |" * 10,
    ]
    for workload in WORKLOADS:
        r = results[workload]
        ns, dispatch, share = r["ns_per_row"], r["dispatch_ns_per_row"], r["dispatch_share"]
        diff = r["dispatch_ns_per_row_by_difference"]
        lines.append(
            f"| {workload} | {r['rows']:,} | {ns['installed']:,.0f} | {ns['django']:,.0f} "
            f"| {ns['no-dispatch']:,.0f} "
            f"| {dispatch['installed']:,.0f} ({diff['installed']:,.0f}) "
            f"| {dispatch['django']:,.0f} ({diff['django']:,.0f}) "
            f"| {share['installed']:.1%} | {share['django']:.1%} | {r['speedup']:.2f}x |"
        )
    meta = results["meta"]
    lines += [
        "",
        "Dispatch ns/row: the sends of one row timed on their own; in parentheses, the",
        "end-to-end difference with the no-dispatch run. Share: dispatch / ns per row.",
        f"Python {meta['python']}, Django {meta['django']}, SQLite {meta['sqlite']}, "
        f"fastsignal {meta['fastsignal']} ({'compiled' if meta['compiled'] else 'pure-Python'} "
        f"engine), best of {meta['repeat']} interleaved rounds.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--saves", type=int, default=SAVES)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = run(repeat=args.repeat, rows=args.rows, saves=args.saves)
    print(format_report(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
