"""Time every workload on every implementation, interleaved, and report ratios.

    python -m benchmarks.report [--rounds N] [--output DIR] [--smoke]
    python -m benchmarks.report --from-json docs/report.json [--output DIR]

Rounds are interleaved (every case once per round, in turn) so that a noisy
neighbour slows all implementations alike; each case keeps its best round.
Prints a table of times and of ratios with the performance bars, and writes
``report.json`` and ``report.png`` (ratios, log scale) into ``--output``.
``--smoke`` runs one short round to check that everything runs and judges no
bar. ``--from-json`` measures nothing: it draws the chart of a written report
again (into ``--output``, by default the JSON's own directory).
"""

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
import timeit
import tracemalloc

import django

import fastsignal
from benchmarks.workloads import compile_case, fallback_bars, workloads

TRANSIENT_SENDS = 10_000


def progress(message, done, total):
    line = f"[{done:>3}/{total}] {message}"
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line.ljust(78)[:78])
        if done == total:
            sys.stderr.write("\n")
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def calibrate(timer, target, namespace):
    """Iterations per batch so that one batch takes about ``target`` seconds."""
    number = 1
    while True:
        namespace["BATCH"] = number
        elapsed = timer.timeit(number)
        if elapsed >= target / 5 or number >= 10_000_000:
            return max(1, int(number * target / max(elapsed, 1e-9)))
        number *= 5


def measure(cases, rounds, target):
    """Best time per operation, in ns, of every case: ``{(workload, impl): ns}``."""
    timers = {}
    total = len(cases)
    for done, ((workload, impl), case) in enumerate(cases.items(), 1):
        progress(f"calibrating {workload.name} / {impl}", done, total)
        timer = timeit.Timer(case.stmt, setup=case.setup or "pass", globals=case.namespace)
        case.namespace["BATCH"] = 1
        timers[workload, impl] = (timer, calibrate(timer, target, case.namespace))
    best = {}
    total = rounds * len(timers)
    done = 0
    for round_number in range(1, rounds + 1):
        for (workload, impl), (timer, number) in timers.items():
            done += 1
            progress(f"round {round_number}/{rounds}: {workload.name} / {impl}", done, total)
            cases[workload, impl].namespace["BATCH"] = number
            ns = timer.timeit(number) / number * 1e9
            key = (workload.name, impl)
            best[key] = min(best.get(key, ns), ns)
    return best


def retained_bytes(case, sends):
    """Memory still allocated after ``sends`` sends from senders that then died."""
    run = compile_case(case)
    run()  # build what every send shares (prepared lists, caches) first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(sends):
        run()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = after.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    return sum(s.size_diff for s in stats.compare_to(before, "filename"))


def evaluate(workload_list, best):
    """Rows of ``(workload, bar, ratio, met)`` for every bar that could be measured."""
    rows = []
    for workload in workload_list:
        times = {impl: best[workload.name, impl] for impl in workload.setups}
        for bar in workload.bars + fallback_bars(workload):
            if (bar.slow is None or bar.slow in times) and bar.fast in times:
                rows.append((workload, bar, bar.ratio(times), bar.met(times)))
    return rows


def format_table(workload_list, best):
    impls = []
    for workload in workload_list:
        impls += [i for i in workload.setups if i not in impls]
    header = "| workload | " + " | ".join(impls) + " | django / fastsignal | fastsignal / loop |"
    lines = [header, "|" + " --- |" * (len(impls) + 3)]
    for workload in workload_list:
        times = {impl: best[workload.name, impl] for impl in workload.setups}
        cells = [f"{times[i]:,.0f}" if i in times else "" for i in impls]
        speedup = f"{times['django'] / times['fastsignal']:.1f}x" if "django" in times else ""
        floor = f"{times['fastsignal'] / times['loop']:.2f}" if "loop" in times else ""
        lines.append(f"| {workload.title} | " + " | ".join(cells) + f" | {speedup} | {floor} |")
    return "\n".join(lines)


def format_bars(rows):
    lines = ["| workload | bar | measured | |", "| --- | --- | --- | --- |"]
    for workload, bar, ratio, met in rows:
        lines.append(
            f"| {workload.title} | {bar.describe()} | {ratio:.2f} | {'met' if met else 'MISSED'} |"
        )
    return "\n".join(lines)


# What the chart draws, in this order: each implementation's speed-up over
# Django's plain signal, which is the 1x line. ``loop`` is left out: it is the
# floor of the send workloads, not a dispatcher.
CHART_BASELINE = "django"
CHART_SERIES = {
    "fastsignal": ("fastsignal (compiled engine)", "tab:blue"),
    "fallback": ("fastsignal (pure-Python engine)", "tab:orange"),
    "django-cached": ("Django, Signal(use_caching=True)", "tab:green"),
    "blinker": ("blinker", "tab:purple"),
    "psygnal": ("psygnal", "tab:brown"),
}


def workload_titles():
    """``{workload name: title}``, for reports written before they kept titles."""
    return {w.name: w.title for w in workloads()}


def format_ratio(ratio):
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 1:
        return f"{ratio:.1f}x"
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"{ratio:.2g}x"


def format_tick(value, _position=None):
    """``0.01x``, ``1x``, ``1,000,000x``: plain decimals, no exponents."""
    return f"{value:,.{max(0, -math.floor(math.log10(value)))}f}x"


def build_chart(report):
    """The chart of ``report`` (the dict written to ``report.json``): a Figure.

    Grouped horizontal bars, one group per workload, one bar per implementation
    of ``CHART_SERIES`` that ran it: its speed-up over ``django.dispatch.Signal()``
    on a log scale, drawn from the 1x line (left of it: slower than Django).
    The x limits are fitted so that every bar label lies inside the axes, and
    the constrained layout keeps every other text inside the figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    ns = report["ns_per_operation"]
    titles = report.get("titles") or workload_titles()
    names = [name for name, times in ns.items() if CHART_BASELINE in times]
    series = [impl for impl in CHART_SERIES if any(impl in ns[name] for name in names)]
    slot = 0.84 / max(len(series), 1)
    fig = Figure(figsize=(10, 0.16 * len(series) * len(names) + 0.25 * len(names) + 2.2))
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    labels, ratios = [], [1.0]
    for index, impl in enumerate(series):
        label, color = CHART_SERIES[impl]
        if impl == "fastsignal" and not report.get("compiled", True):
            label = "fastsignal (compiled engine not loaded: pure Python)"
        rows = [
            (position, ns[name][CHART_BASELINE] / ns[name][impl])
            for position, name in enumerate(names)
            if impl in ns[name]
        ]
        offsets = [position - 0.42 + slot * (index + 0.5) for position, _ in rows]
        values = [ratio for _, ratio in rows]
        bars = ax.barh(
            offsets, [v - 1 for v in values], left=1, height=slot * 0.9, color=color, label=label
        )
        labels += ax.bar_label(bars, [format_ratio(v) for v in values], padding=2, fontsize=7)
        ratios += values

    for position in range(0, len(names), 2):
        ax.axhspan(position - 0.5, position + 0.5, color="0.95", zorder=0, linewidth=0)
    ax.axvline(1, color="black", linewidth=1, zorder=3)
    ax.set_yticks(range(len(names)), [titles.get(name, name) for name in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.set_xscale("log")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(
        "speed-up over django.dispatch.Signal() (uncached), log scale: "
        "right of 1x is faster, left is slower"
    )
    title = (
        f"fastsignal {report['fastsignal']} vs Django {report['django']}, "
        f"Python {report['python']}: speed-up over Django's dispatcher"
    )
    if report.get("smoke"):
        title += "\nsmoke run: one short round, the timings mean nothing"
    fig.suptitle(title)
    baseline = Line2D([], [], color="black", linewidth=1, label="Django, Signal() (uncached): 1x")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(  # above the axes, centred on the figure: the axes' width does not move it
        handles=[baseline, *handles],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.005),
        bbox_transform=blended_transform_factory(fig.transFigure, ax.transAxes),
        ncols=2,
        frameon=False,
    )
    _fit_x_limits(fig, ax, labels, min(ratios), max(ratios))
    return fig


def _fit_x_limits(fig, ax, texts, low, high, margin=4):
    """Widen the (log) x axis until every text in ``texts`` lies inside the axes.

    A label's width is fixed in pixels, not in data units, so the headroom it
    needs depends on the rendered figure: draw, measure the overflow, widen by
    it (converted to decades at the current scale) and draw again. The layout
    can move the axes as the ticks change, hence the loop.
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    lo = min(math.log10(low), math.log10(0.5)) - 0.1  # at least 0.5x to 2x: some ticks
    hi = max(math.log10(high), math.log10(2)) + 0.1
    for _ in range(20):
        ax.set_xlim(10**lo, 10**hi)
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if hi - lo < 2 else (1,)))
        ax.xaxis.set_major_formatter(format_tick)
        ax.xaxis.set_minor_formatter(NullFormatter())
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        extents = [text.get_window_extent(renderer) for text in texts if text.get_text()]
        if not extents:
            return
        over_left = box.x0 + margin - min(extent.x0 for extent in extents)
        over_right = max(extent.x1 for extent in extents) - (box.x1 - margin)
        if over_left <= 0 and over_right <= 0:
            return
        decades_per_pixel = (hi - lo) / box.width
        lo -= max(over_left, 0) * decades_per_pixel * 1.25
        hi += max(over_right, 0) * decades_per_pixel * 1.25


def draw_chart(report, path):
    """Write the chart of ``report`` to ``path`` (PNG)."""
    fig = build_chart(report)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.02, help="seconds per batch")
    parser.add_argument(
        "--output",
        help="directory for JSON and PNG (default benchmarks/results; "
        "with --from-json, the JSON's directory)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one quick round: checks the suite runs, judges nothing",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--from-json",
        metavar="PATH",
        help="measure nothing: draw the chart of the report.json at PATH again",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as handle:
            report = json.load(handle)
        output = args.output or os.path.dirname(args.from_json) or "."
        os.makedirs(output, exist_ok=True)
        png_path = os.path.join(output, "report.png")
        draw_chart(report, png_path)
        print(f"wrote {png_path}")
        return 0
    output = args.output or "benchmarks/results"
    if args.smoke:
        args.rounds, args.target = 1, 0.0005
    if not fastsignal.COMPILED:
        print(
            "warning: the compiled engine is not in use; 'fastsignal' runs the fallback",
            file=sys.stderr,
        )

    started = time.perf_counter()
    workload_list = workloads()
    cases = {}
    setups = [(w, impl, setup) for w in workload_list for impl, setup in w.setups.items()]
    for done, (workload, impl, setup) in enumerate(setups, 1):
        progress(f"setting up {workload.name} / {impl}", done, len(setups))
        cases[workload, impl] = setup()
    best = measure(cases, args.rounds, args.target)

    transient = next(w for w in workload_list if w.name == "transient-senders")
    sends = 100 if args.smoke else TRANSIENT_SENDS
    memory = {
        impl: retained_bytes(cases[transient, impl], sends)
        for impl in ("fastsignal", "fallback", "django", "django-cached")
    }

    rows = [] if args.smoke else evaluate(workload_list, best)
    print(
        f"\nfastsignal {fastsignal.__version__} (compiled: {fastsignal.COMPILED}), "
        f"Django {django.get_version()}, Python {platform.python_version()}, "
        f"{args.rounds} interleaved rounds, best round, ns per operation\n"
    )
    print(format_table(workload_list, best))
    print(
        f"\nMemory kept after {sends:,} sends from senders that died (bytes):",
        ", ".join(f"{impl} {size:,}" for impl, size in memory.items()),
    )
    if not args.smoke:
        print("\n" + format_bars(rows))

    os.makedirs(output, exist_ok=True)
    report = {
        "fastsignal": fastsignal.__version__,
        "compiled": fastsignal.COMPILED,
        "django": django.get_version(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": args.rounds,
        "smoke": args.smoke,
        "titles": {w.name: w.title for w in workload_list},
        "ns_per_operation": {
            w.name: {impl: best[w.name, impl] for impl in w.setups} for w in workload_list
        },
        "transient_memory_bytes": memory,
        "bars": [
            {"workload": w.name, "bar": bar.describe(), "ratio": ratio, "met": met}
            for w, bar, ratio, met in rows
        ],
    }
    json_path = os.path.join(output, "report.json")
    with open(json_path, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"\nwrote {json_path}")
    if not args.no_chart:
        png_path = os.path.join(output, "report.png")
        draw_chart(report, png_path)
        print(f"wrote {png_path}")
    seconds = time.perf_counter() - started
    if args.smoke:
        print(f"smoke run done in {seconds:.0f} s; performance bars are not judged in smoke mode")
    else:
        missed = [row for row in rows if not row[3]]
        print(f"{len(rows) - len(missed)} of {len(rows)} bars met in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
