"""The report command: its chart keeps every text inside the picture, a smoke
run judges no performance bar, a missed bar fails the run, a bar too close to
call gets more rounds, and the statistics reject outliers.

    pytest benchmarks/test_report.py
"""

import json

import pytest

from benchmarks import report as report_module
from benchmarks.chart import SERIES as CHART_SERIES
from benchmarks.chart import build_chart, format_ratio
from benchmarks.report import main
from benchmarks.stats import median_interval, summarize
from benchmarks.workloads import Bar, Workload, workloads


def spread(ratio, width=0.05):
    return {"median": ratio, "q1": ratio * (1 - width), "q3": ratio * (1 + width)}


def synthetic_report(speedups, smoke=False, panels=None):
    """A report whose workloads have the given ``{impl: speed-up over Django}``."""
    names = [f"workload-{index}" for index in range(len(speedups))]
    return {
        "fastsignal": "0.0.0",
        "compiled": True,
        "django": "5.2",
        "python": "3.11.0",
        "smoke": smoke,
        "titles": {name: f"workload {name} with a fairly long title" for name in names},
        "panels": {name: (panels or {}).get(name, "send") for name in names},
        "speedup_over_django": {
            name: {impl: spread(ratio) for impl, ratio in per_impl.items()}
            for name, per_impl in zip(names, speedups, strict=True)
        },
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
    "with the loop's floor": [{"fastsignal": 5, "fallback": 1.1, "loop": 2.0}],
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
    expected = sorted(
        format_ratio(ratio) for row in speedups for impl, ratio in row.items() if impl != "loop"
    )
    assert sorted(t.get_text() for t in texts if isinstance(t, Annotation)) == expected
    for impl in {impl for row in speedups for impl in row} - {"loop"}:
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
    labels = [t for t in texts if isinstance(t, Annotation)]
    assert labels
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for label in labels:
            if label.axes is ax:
                extent = label.get_window_extent(renderer)
                assert box.x0 <= extent.x0 and extent.x1 <= box.x1, label.get_text()


def test_panels_error_bars_and_floor(monkeypatch):
    """Sends and connects get their own panels; every bar has an error bar; the loop is drawn."""
    pytest.importorskip("matplotlib")
    from matplotlib.collections import LineCollection, PathCollection

    speedups = [{"fastsignal": 5, "loop": 2}, {"fastsignal": 1000, "blinker": 900}]
    fig = build_chart(synthetic_report(speedups, panels={"workload-1": "connect"}))
    send, connect = fig.axes
    assert send.get_title(loc="left").startswith("sends")
    assert connect.get_title(loc="left").startswith("connect")
    # each panel has its own scale: the sends are not squashed by the connects' 1,000x
    assert send.get_xlim()[1] < 100 < 1000 < connect.get_xlim()[1]
    error_bars = [c for ax in fig.axes for c in ax.collections if isinstance(c, LineCollection)]
    assert sum(len(c.get_segments()) for c in error_bars) == 3
    (floor,) = [c for c in send.collections if isinstance(c, PathCollection)]
    assert floor.get_offsets()[0][0] == 2


def test_chart_from_json(tmp_path, capsys):
    """``--from-json`` draws a written report again without measuring anything."""
    pytest.importorskip("matplotlib")
    source = tmp_path / "in" / "report.json"
    source.parent.mkdir()
    report = synthetic_report(EXTREMES["600x and 0.5x"])
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
    monkeypatch.setattr(report_module, "all_workloads", lambda loop: chosen)
    monkeypatch.setattr(report_module, "TRANSIENT_SENDS", 100)
    monkeypatch.setattr(report_module.peers, "cases", lambda: {})
    return chosen


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


# In this process (the fixture's workloads), without settling: three rounds leave
# almost every bar too close to call.
QUICK = ["--rounds", "3", "--target", "0.0002", "--no-chart", "--settle-passes", "0"]
QUICK += ["--processes", "1"]


def test_full_run_judges_the_bars(quick_workloads, tmp_path, capsys):
    assert main([*QUICK, "--report-only", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("load before: ")
    assert "| workload | bar | measured | |" in out
    assert "bars met in" in out
    assert "not judged" not in out
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["bars"] and all("met" in bar for bar in written["bars"])
    for bar in written["bars"]:  # every figure carries its spread
        assert bar["q1"] <= bar["median"] <= bar["q3"]
        assert bar["low"] <= bar["median"] <= bar["high"]
        assert bar["rounds"] == 3
    for times in written["ns_per_operation"].values():
        for figure in times.values():
            assert figure["q1"] <= figure["median"] <= figure["q3"]
            assert figure["kept"] + figure["rejected"] == 3
    assert set(written["load"]["before"]) == {"load_average", "cores", "busy"}


def test_a_missed_bar_fails_the_run(quick_workloads, tmp_path, capsys):
    """Exit status 1 when a bar is missed; 0 with --report-only, which still says so."""
    quick_workloads[0].bars.append(Bar("django", "fastsignal", at_least=1e9))
    assert main([*QUICK, "--output", str(tmp_path)]) == 1
    assert "MISSED: send, 0 receivers: django / fastsignal >= 1e+09" in capsys.readouterr().out
    assert main([*QUICK, "--report-only", "--output", str(tmp_path)]) == 0
    assert "MISSED: send, 0 receivers" in capsys.readouterr().out


def test_busy_machine_is_announced(quick_workloads, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(report_module, "load", lambda: (3.5, 2))
    main(["--smoke", "--no-chart", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("load before: 3.50 on 2 cores -- BUSY")


def test_outliers_are_rejected():
    """A batch that lost the core for a time slice does not move the median or the spread."""
    samples = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 5000.0, 99.8]
    summary = summarize(samples)
    assert summary.rejected == 1
    assert 99.5 <= summary.median <= 100.5
    assert summary.q3 < 101


def test_building_every_workload_leaves_djangos_dispatcher_as_it_is():
    """The report measures Django's own Signal: no workload installs fastsignal into it."""
    from django.dispatch import Signal

    from benchmarks import background_workloads

    before = dict(vars(Signal))
    for workload in workloads() + background_workloads.report_workloads():
        for build in workload.setups.values():
            build()
    assert dict(vars(Signal)) == before
    assert Signal.send.__module__ == "django.dispatch.dispatcher"


def test_median_interval():
    """Order statistics n/2 -+ 0.98 sqrt(n), rounded outwards: ranks 14 and 28 of 41."""
    assert median_interval([float(value) for value in range(1, 42)]) == (14.0, 28.0)
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)
    assert median_interval([5.0]) == (5.0, 5.0)


class SteppingTimer:
    """A timer whose batches take, in turn, each of ``seconds`` per operation."""

    def __init__(self, *seconds):
        self.seconds = seconds
        self.calls = 0

    def timeit(self, number):
        self.calls += 1
        return self.seconds[self.calls % len(self.seconds)] * number


def test_a_bar_too_close_to_call_gets_more_rounds(capsys):
    """Only the workload whose bar the median's interval straddles is timed again, every
    case of it (its ratios stay paired), until ``passes`` ran; a clear bar is left as it is."""
    close = Workload("close", "close", {"a": None, "b": None}, [Bar("a", "b", at_least=1)])
    clear = Workload("clear", "clear", {"a": None, "b": None}, [Bar("a", "b", at_least=2)])
    timed = {
        ("close", "a"): (SteppingTimer(1.0, 1.3), 1, {}),
        ("close", "b"): (SteppingTimer(1.2, 1.0, 1.1), 1, {}),
        ("clear", "a"): (SteppingTimer(10.0), 1, {}),
        ("clear", "b"): (SteppingTimer(1.0), 1, {}),
    }
    samples = report_module.measure(timed, 5)
    passes = report_module.settle([close, clear], timed, samples, 5, passes=3)
    assert passes == 3
    assert len(samples["close", "a"]) == len(samples["close", "b"]) == 20
    assert len(samples["clear", "a"]) == len(samples["clear", "b"]) == 5
    rows = {row["workload"]: row for row in report_module.evaluate([close, clear], samples)}
    assert rows["clear"]["decided"] and rows["clear"]["met"] and rows["clear"]["rounds"] == 5
    assert rows["clear"]["verdict"] == "met"
    assert not rows["close"]["decided"] and rows["close"]["rounds"] == 20
    assert rows["close"]["verdict"] == "too close to call" and not rows["close"]["met"]
    assert (
        "too close to call: close; 5 more rounds (pass 1 of at most 3)" in capsys.readouterr().err
    )


def test_settling_stops_when_every_bar_is_decided():
    clear = Workload("clear", "clear", {"a": None, "b": None}, [Bar("a", "b", at_least=2)])
    timed = {
        ("clear", "a"): (SteppingTimer(10.0), 1, {}),
        ("clear", "b"): (SteppingTimer(1.0), 1, {}),
    }
    samples = report_module.measure(timed, 5)
    assert report_module.settle([clear], timed, samples, 5, passes=3) == 0
    assert len(samples["clear", "a"]) == 5


def test_rounds_of_every_process_are_merged(tmp_path, capsys):
    """With --processes N, N fresh processes measure one after another, and every
    figure and bar is taken over the rounds of all of them."""
    command = ["--only", "send-0", "--rounds", "3", "--target", "0.0002", "--no-chart"]
    command += ["--settle-passes", "0", "--processes", "2", "--more-processes", "0"]
    assert main([*command, "--report-only", "--output", str(tmp_path)]) == 0
    assert "process 2 of 2" in capsys.readouterr().err
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["processes"] == 2
    for figure in written["ns_per_operation"]["send-0"].values():
        assert figure["kept"] + figure["rejected"] == 6
    assert {bar["rounds"] for bar in written["bars"]} == {6}
    assert all(len(bar["process_medians"]) == 2 for bar in written["bars"])


def _ratio_samples(ratios):
    """``samples`` of workload "w" whose round-by-round ratio a / b is each of ``ratios``."""
    return {("w", "a"): [float(r) for r in ratios], ("w", "b"): [1.0] * len(ratios)}


def test_the_spread_between_processes_widens_the_interval():
    """Two processes whose medians lie on either side of the bar: however many rounds
    each has, the bar is too close to call, and it is not counted as met."""
    workload = Workload("w", "w", {"a": None, "b": None}, [Bar("a", "b", at_least=5)])
    runs = [_ratio_samples([4.8] * 100), _ratio_samples([5.1] * 300)]
    merged = {key: runs[0][key] + runs[1][key] for key in runs[0]}
    (alone,) = report_module.evaluate([workload], merged)
    assert alone["verdict"] == "met" and alone["low"] == alone["high"] == 5.1
    (row,) = report_module.evaluate([workload], merged, runs)
    assert row["process_medians"] == [4.8, 5.1]
    assert (row["low"], row["high"]) == (4.8, 5.1)
    assert row["verdict"] == "too close to call" and not row["met"] and not row["decided"]


def test_processes_that_agree_decide_the_bar():
    workload = Workload("w", "w", {"a": None, "b": None}, [Bar("a", "b", at_least=5)])
    runs = [_ratio_samples([4.6, 4.7, 4.8]), _ratio_samples([4.7, 4.8, 4.9])]
    merged = {key: runs[0][key] + runs[1][key] for key in runs[0]}
    (row,) = report_module.evaluate([workload], merged, runs)
    assert row["verdict"] == "missed" and row["decided"] and not row["met"]


def test_a_bar_too_close_to_call_fails_the_run(quick_workloads, tmp_path, capsys, monkeypatch):
    """A bar that is not shown to be met fails the run as a missed one does."""
    real_evaluate = report_module.evaluate

    def every_bar_too_close(*args):
        rows = real_evaluate(*args)
        for row in rows:
            row.update(verdict="too close to call", decided=False, met=False)
        return rows

    monkeypatch.setattr(report_module, "evaluate", every_bar_too_close)
    assert main([*QUICK, "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "TOO CLOSE TO CALL after 3 rounds: send, 0 receivers" in out
    assert "not shown to be met" in out
    assert "**too close to call** (" in out
    assert "MISSED:" not in out


def test_an_absolute_time_is_judged_on_the_least_disturbed_process():
    """Neighbours only add time, to a whole process: a bar in ns is judged on the
    process with the lowest median, with that process's own interval."""
    workload = Workload("w", "w", {"a": None}, [Bar(None, "a", at_most=1000)])
    runs = [{("w", "a"): [1050.0, 1060.0, 1040.0]}, {("w", "a"): [700.0, 710.0, 690.0]}]
    merged = {("w", "a"): runs[0]["w", "a"] + runs[1]["w", "a"]}
    (row,) = report_module.evaluate([workload], merged, runs)
    assert row["process_medians"] == [1050.0, 700.0]
    assert (row["median"], row["low"], row["high"], row["rounds"]) == (700.0, 690.0, 710.0, 3)
    assert row["verdict"] == "met"


def test_more_processes_narrow_the_interval_between_them():
    """Over five process medians the interval is their range; over fifteen, the 3rd to
    the 13th: a bar the extremes straddle is decided once enough processes agree."""
    workload = Workload("w", "w", {"a": None, "b": None}, [Bar("a", "b", at_least=1)])
    medians = [0.99, 1.03, 1.04, 1.05, 1.06]
    runs = [_ratio_samples([m] * 3) for m in medians]
    (row,) = report_module.evaluate([workload], report_module.merged(runs), runs)
    assert row["verdict"] == "too close to call" and row["low"] == 0.99
    runs += [_ratio_samples([m] * 3) for m in (1.04, 1.05, 1.04, 1.03, 1.05, 1.04, 1.05, 0.98)]
    runs += [_ratio_samples([1.04] * 3), _ratio_samples([1.05] * 3)]
    (row,) = report_module.evaluate([workload], report_module.merged(runs), runs)
    assert len(row["process_medians"]) == 15
    assert row["verdict"] == "met" and row["low"] > 1


def test_processes_that_measured_other_workloads_are_left_out():
    workload = Workload("w", "w", {"a": None, "b": None}, [Bar("a", "b", at_least=1)])
    runs = [_ratio_samples([1.2] * 3), _ratio_samples([1.3] * 3), {("other", "a"): [1.0]}]
    (row,) = report_module.evaluate([workload], report_module.merged(runs), runs)
    assert row["process_medians"] == [1.2, 1.3]


def test_bars_too_close_across_processes_get_more_processes(tmp_path, capsys, monkeypatch):
    """After --processes, more processes run, for the undecided workloads only, until
    none is left or --more-processes ran."""
    real_evaluate = report_module.evaluate

    def settling(workload_list, samples, runs=()):
        """send-0 is too close to call until four processes have measured it."""
        rows = real_evaluate(workload_list, samples, runs)
        for row in rows:
            row["decided"] = row["workload"] != "send-0" or len(runs) >= 4
        return rows

    monkeypatch.setattr(report_module, "evaluate", settling)
    command = ["--only", "send-0", "--only", "send-1", "--rounds", "3", "--target", "0.0002"]
    command += ["--no-chart", "--settle-passes", "0", "--processes", "2", "--report-only"]
    assert main([*command, "--more-processes", "5", "--output", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "too close to call across processes: send-0; process 1 of at most 5 more" in err
    assert "process 2 of at most 5 more" in err
    assert "process 3 of at most 5 more" not in err
    written = json.loads((tmp_path / "report.json").read_text())
    assert (written["processes"], written["more_processes"]) == (2, 2)
    times = written["ns_per_operation"]
    assert {figure["kept"] + figure["rejected"] for figure in times["send-0"].values()} == {12}
    assert {figure["kept"] + figure["rejected"] for figure in times["send-1"].values()} == {6}
