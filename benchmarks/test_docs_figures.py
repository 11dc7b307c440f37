"""The README and the docs quote the committed report, and nothing else.

    pytest benchmarks/test_docs_figures.py

Each figure about speed in README.md, docs/performance.md and docs/async.md sits
in a ``<!-- report:NAME -->`` block written from ``docs/report.json``
(``python -m benchmarks.report --from-json docs/report.json --update-docs``):
a block edited by hand, or a report committed without writing the pages again,
fails here.
"""

import json
import os

import pytest

from benchmarks import docs_figures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(ROOT, "docs", "report.json")


@pytest.fixture(scope="module")
def report():
    with open(REPORT) as handle:
        return json.load(handle)


def read(relative):
    with open(os.path.join(ROOT, relative)) as handle:
        return handle.read()


def test_the_committed_report_is_a_full_run(report):
    assert not report["smoke"]
    assert report["bars"]
    assert report["peer_check"]
    for row in report["bars"]:
        assert row["q1"] <= row["median"] <= row["q3"]


@pytest.mark.parametrize("relative", docs_figures.QUOTING_FILES)
def test_every_block_is_written_from_the_report(report, relative):
    text = read(relative)
    found = docs_figures.blocks(text)
    assert found, f"{relative} quotes no report block"
    for name, body in found:
        assert body == docs_figures.render(report, name), (
            f"{relative}: the {name} block differs from docs/report.json; run "
            "python -m benchmarks.report --from-json docs/report.json --update-docs"
        )


def test_the_performance_page_has_every_table():
    names = {name for name, _ in docs_figures.blocks(read("docs/performance.md"))}
    assert {"conditions", "table", "bars", "memory", "peers"} <= names


def test_a_hand_edited_figure_is_caught(report):
    text = read("README.md")
    (_name, body), *_ = docs_figures.blocks(text)
    edited = text.replace(body, body.replace("x faster", "x quicker", 1))
    assert edited != text
    assert docs_figures.rewrite(edited, report) == text
