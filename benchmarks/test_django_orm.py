"""End-to-end Django ORM workloads, fastsignal installed vs Django's dispatcher.

    pytest benchmarks/test_django_orm.py --benchmark-only

Groups ``orm-iterate`` (10,000 model instances built from a query, each sending
``pre_init`` and ``post_init``, one ``post_init`` receiver) and ``orm-save``
(2,000 ``save()`` calls, each sending ``pre_save`` and ``post_save``, one receiver
each), each with ``installed`` (fastsignal.django.install()), ``django`` (Django's
own dispatcher) and ``no-dispatch`` (sends replaced by a no-op: the floor).
``python -m benchmarks.django_orm`` runs them interleaved and reports the time
per row and the share spent dispatching. With ``--benchmark-disable`` each
benchmark runs once (smoke mode).
"""

import pytest

from benchmarks import django_orm


@pytest.fixture(scope="module")
def orm():
    django_orm.create_table(django_orm.ROWS)
    objs = django_orm.load_for_save(django_orm.SAVES)
    django_orm.connect_receivers()
    yield objs
    django_orm.disconnect_receivers()


@pytest.mark.parametrize("mode", django_orm.MODES)
def test_orm_iterate(benchmark, orm, mode):
    benchmark.group = "orm-iterate"
    benchmark.name = mode
    benchmark.extra_info["rows"] = django_orm.ROWS
    with django_orm.mode(mode):
        count = benchmark.pedantic(django_orm.iterate_rows, rounds=5, warmup_rounds=1)
    assert count == django_orm.ROWS


@pytest.mark.parametrize("mode", django_orm.MODES)
def test_orm_save(benchmark, orm, mode):
    benchmark.group = "orm-save"
    benchmark.name = mode
    benchmark.extra_info["rows"] = len(orm)
    with django_orm.mode(mode):
        count = benchmark.pedantic(django_orm.save_rows, args=(orm,), rounds=5, warmup_rounds=1)
    assert count == len(orm)


def test_run_smoke():
    """``run()`` (what the report command calls) on a small table."""
    results = django_orm.run(repeat=1, rows=200, saves=50)
    for workload in django_orm.WORKLOADS:
        r = results[workload]
        assert set(r["ns_per_row"]) == set(django_orm.MODES)
        assert 0 < r["dispatch_share"]["installed"] < 1
        assert 0 < r["dispatch_share"]["django"] < 1
    assert "orm-iterate" in django_orm.format_report(results)
