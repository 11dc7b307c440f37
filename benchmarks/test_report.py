"""The report command: its chart keeps every text inside the picture, and a
smoke run judges no performance bar.

    pytest benchmarks/test_report.py
"""

import json

import pytest

from benchmarks import report as report_module
from benchmarks.report import CHART_BASELINE, CHART_SERIES, build_chart, format_ratio, main
from benchmarks.workloads import workloads


def synthetic_report(speedups, smoke=False):
    """A report whose workloads have the given ``{impl: speed-up over Django}``."""
    ns = {}
    for index, per_impl in enumerate(speedups):
        times = {CHART_BASELINE: 1000.0}
        times.update({impl: 1000.0 / ratio for impl, ratio in per_impl.items()})
        ns[f"workload-{index}"] = times
    return {
        "fastsignal": "0.0.0",
        "compiled": True,
        "django": "5.2",
        "python": "3.11.0",
        "smoke": smoke,
        "titles": {name: f"workload {name} with a fairly long title" for name in ns},
        "ns_per_operation": ns,
    }


EXTREMES = {
    "600x and 0.5x": [
        {"fastsignal": 600, "fallback": 0.5, "django-cached": 1.0, "blinker": 3, "psygnal": 0.5},
        {"fastsignal": 2.5, "fallback": 600, "django-cached": 0.5},
    ],
    "far beyond": [
        {"fastsignal": 250_000, "fallback": 0.002, "blinker": 0.5},
        {"fastsignal": 0.5, "psygnal": 600},
    ],
    "all close to 1x": [{"fastsignal": 1.02, "fallback": 0.98}],
    "only faster": [{"fastsignal": 600, "fallback": 1.5}] * 12,
    "only slower": [{"fastsignal": 0.5, "fallback": 0.01}] * 3,
}


def drawn_texts(fig, monkeypatch):
    """Draw ``fig``; return its renderer and every visible, non-empty Text drawn.

    ``fig.findobj(Text)`` alone also finds texts that are never drawn (tick
    labels of ticks outside the view, empty offset texts), so record what
    ``Text.draw`` really draws and check those among the figure's Text artists.
    """
    from matplotlib.text import Text

    drawn = set()
    draw = Text.draw

    def recording_draw(self, renderer):
        if self.get_visible() and self.get_text():
            drawn.add(self)
        return draw(self, renderer)

    monkeypatch.setattr(Text, "draw", recording_draw)
    fig.canvas.draw()
    monkeypatch.undo()
    return fig.canvas.get_renderer(), [t for t in fig.findobj(Text) if t in drawn]


@pytest.mark.parametrize(
    ("speedups", "smoke"),
    [pytest.param(speedups, False, id=key) for key, speedups in EXTREMES.items()]
    + [pytest.param(EXTREMES["600x and 0.5x"], True, id="smoke title")],
)
def test_every_text_lies_inside_the_figure(speedups, smoke, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.text import Annotation

    fig = build_chart(synthetic_report(speedups, smoke))
    renderer, texts = drawn_texts(fig, monkeypatch)

    # Every bar label is drawn (an annotation whose anchor leaves the axes is not).
    expected = sorted(format_ratio(ratio) for row in speedups for ratio in row.values())
    assert sorted(t.get_text() for t in texts if isinstance(t, Annotation)) == expected
    for impl in {impl for row in speedups for impl in row}:
        assert any(t.get_text() == CHART_SERIES[impl][0] for t in texts)  # in the legend

    bounds = fig.bbox
    outside = []
    for text in texts:
        extent = text.get_window_extent(renderer)
        if not (
            bounds.x0 <= extent.x0
            and extent.x1 <= bounds.x1
            and bounds.y0 <= extent.y0
            and extent.y1 <= bounds.y1
        ):
            outside.append((text.get_text(), extent.bounds))
    assert not outside, f"texts outside the figure {bounds.bounds}: {outside}"


@pytest.mark.parametrize("speedups", EXTREMES.values(), ids=EXTREMES.keys())
def test_bar_labels_stay_inside_the_axes(speedups, monkeypatch):
    """The x limits leave room for the labels: none crosses the frame.

    (Before they were fitted, a 600x label ran over the right spine.)
    """
    pytest.importorskip("matplotlib")
    from matplotlib.text import Annotation

    fig = build_chart(synthetic_report(speedups))
    renderer, texts = drawn_texts(fig, monkeypatch)
    (ax,) = fig.axes
    box = ax.get_window_extent(renderer)
    labels = [t for t in texts if isinstance(t, Annotation)]
    assert labels
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, label.get_text()


def test_chart_from_json(tmp_path, capsys):
    """``--from-json`` draws a written report again without measuring anything."""
    pytest.importorskip("matplotlib")
    source = tmp_path / "in" / "report.json"
    source.parent.mkdir()
    report = synthetic_report(EXTREMES["600x and 0.5x"])
    del report["titles"]  # written before reports kept titles: the names stand in
    source.write_text(json.dumps(report))
    assert main(["--from-json", str(source), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.png").stat().st_size > 0
    assert main(["--from-json", str(source)]) == 0  # next to the JSON by default
    assert (source.parent / "report.png").stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


@pytest.fixture
def quick_workloads(monkeypatch):
    """Only the workloads that the report needs, so that it runs in seconds."""
    chosen = [w for w in workloads() if w.name in ("send-0", "transient-senders")]
    monkeypatch.setattr(report_module, "workloads", lambda: chosen)
    monkeypatch.setattr(report_module, "TRANSIENT_SENDS", 100)


def test_smoke_run_judges_no_bar(quick_workloads, tmp_path, capsys):
    assert main(["--smoke", "--no-chart", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| send, 0 receivers |" in out  # the table of times is still there
    assert "MISSED" not in out
    assert " met" not in out
    assert "bars met" not in out
    assert out.count("not judged in smoke mode") == 1
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["smoke"] is True
    assert written["bars"] == []


def test_full_run_judges_the_bars(quick_workloads, tmp_path, capsys):
    argv = ["--rounds", "1", "--target", "0.0005", "--no-chart", "--output", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| workload | bar | measured | |" in out
    assert "bars met in" in out
    assert "not judged" not in out
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["bars"] and all("met" in bar for bar in written["bars"])
