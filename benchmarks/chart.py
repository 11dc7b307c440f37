"""The report's chart: speed-ups over Django's dispatcher, with their spread, one panel per kind.

``build_chart(report)`` draws, from the dict written to ``report.json``, one
panel per kind of workload (sends and lookups; connect and disconnect, about a
thousand times further apart; asend), each with grouped horizontal bars: every
implementation's speed-up over ``django.dispatch.Signal()`` on a log scale,
drawn from the 1x line (left of it: slower than Django). Each bar carries an
error bar from the first to the third quartile of its round-by-round ratios,
and a black diamond marks the hand-written Python loop (the floor a
pure-Python dispatcher cannot go under) where a workload has one.
"""

import math

BASELINE = "django"
#: What the chart draws, in this order: label and colour of each implementation.
SERIES = {
    "fastsignal": ("fastsignal (compiled engine)", "tab:blue"),
    "fallback": ("fastsignal (pure-Python engine)", "tab:orange"),
    "django-cached": ("Django, Signal(use_caching=True)", "tab:green"),
    "django61": ("Django 6.1's Signal()", "tab:olive"),
    "blinker": ("blinker", "tab:purple"),
    "psygnal": ("psygnal (emit_fast)", "tab:brown"),
}
FLOOR = "loop"
PANELS = {
    "send": "sends and lookups",
    "connect": "connect and disconnect, 10,000 receivers connected",
    "async": "asend (run on an event loop made in advance)",
}


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


def _panels(report):
    """``[(panel, [workload names])]`` in report order, panels with a baseline only."""
    kinds = report.get("panels", {})
    grouped = {}
    for name in report["speedup_over_django"]:
        grouped.setdefault(kinds.get(name, "send"), []).append(name)
    return [(panel, grouped[panel]) for panel in PANELS if panel in grouped] + [
        (panel, names) for panel, names in grouped.items() if panel not in PANELS
    ]


def build_chart(report):
    """The chart of ``report`` (the dict written to ``report.json``): a Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    speedups = report["speedup_over_django"]
    titles = report["titles"]
    panels = _panels(report)
    series = [
        impl
        for impl in SERIES
        if any(impl in speedups[name] for _, names in panels for name in names)
    ]
    slot = 0.84 / max(len(series), 1)
    heights = [0.11 * len(series) * len(names) + 0.2 * len(names) + 0.6 for _, names in panels]
    fig = Figure(figsize=(10, sum(heights) + 1.6))
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]

    handles = {}
    for ax, (panel, names) in zip(axes, panels, strict=True):
        labels, ratios = [], [1.0]
        for index, impl in enumerate(series):
            label, color = SERIES[impl]
            if impl == "fastsignal" and not report.get("compiled", True):
                label = "fastsignal (compiled engine not loaded: pure Python)"
            rows = [
                (position, speedups[name][impl])
                for position, name in enumerate(names)
                if impl in speedups[name]
            ]
            if not rows:
                continue
            offsets = [position - 0.42 + slot * (index + 0.5) for position, _ in rows]
            values = [data["median"] for _, data in rows]
            spread = [
                [max(data["median"] - data["q1"], 0) for _, data in rows],
                [max(data["q3"] - data["median"], 0) for _, data in rows],
            ]
            bars = ax.barh(
                offsets,
                [v - 1 for v in values],
                left=1,
                height=slot * 0.9,
                color=color,
                label=label,
                xerr=spread,
                error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "0.2"},
            )
            handles[impl] = bars
            for offset, (_, data) in zip(offsets, rows, strict=True):
                # right of the error bar (left of it for a bar left of 1x)
                right = data["median"] >= 1
                labels.append(
                    ax.annotate(
                        format_ratio(data["median"]),
                        (
                            max(data["q3"], data["median"])
                            if right
                            else min(data["q1"], data["median"]),
                            offset,
                        ),
                        xytext=(3 if right else -3, 0),
                        textcoords="offset points",
                        ha="left" if right else "right",
                        va="center",
                        fontsize=7,
                    )
                )
            ratios += values + [data["q3"] for _, data in rows] + [data["q1"] for _, data in rows]
        floor = [
            (position, speedups[name][FLOOR]["median"])
            for position, name in enumerate(names)
            if FLOOR in speedups[name]
        ]
        if floor:
            ax.scatter(
                [value for _, value in floor],
                [position for position, _ in floor],
                marker="D",
                s=22,
                color="black",
                zorder=4,
            )
            ratios += [value for _, value in floor]
            handles[FLOOR] = Line2D(
                [],
                [],
                marker="D",
                linestyle="none",
                color="black",
                label="hand-written Python loop (the floor)",
            )

        for position in range(0, len(names), 2):
            ax.axhspan(position - 0.5, position + 0.5, color="0.95", zorder=0, linewidth=0)
        ax.axvline(1, color="black", linewidth=1, zorder=3)
        ax.set_yticks(range(len(names)), [titles.get(name, name) for name in names])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.tick_params(axis="y", length=0)
        ax.set_xscale("log")
        ax.grid(axis="x", color="0.85", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(PANELS.get(panel, panel), fontsize=10, loc="left")
        _fit_x_limits(fig, ax, labels, min(ratios), max(ratios))

    axes[-1].set_xlabel(
        "speed-up over django.dispatch.Signal() (uncached), log scale: right of 1x is faster\n"
        "median of round-by-round ratios; error bars from the first to the third quartile"
    )
    title = (
        f"fastsignal {report['fastsignal']} vs Django {report['django']}, "
        f"Python {report['python']}: speed-up over Django's dispatcher"
    )
    if report.get("smoke"):
        title += "\nsmoke run: a few short rounds, the timings mean nothing"
    fig.suptitle(title)
    baseline = Line2D([], [], color="black", linewidth=1, label="Django, Signal() (uncached): 1x")
    ordered = [handles[impl] for impl in [*SERIES, FLOOR] if impl in handles]
    fig.legend(
        handles=[baseline, *ordered],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    _fit_all(fig, axes)
    return fig


def _fit_all(fig, axes):
    """Refit each panel once the legend has taken its room (the layout moved the axes)."""
    for ax in axes:
        texts = [t for t in ax.texts if t.get_text()]
        low, high = ax.get_xlim()
        _fit_x_limits(fig, ax, texts, low * 10**0.1, high / 10**0.1, widen_only=True)


def _fit_x_limits(fig, ax, texts, low, high, margin=4, widen_only=False):
    """Widen the (log) x axis until every text in ``texts`` lies inside the axes.

    A label's width is fixed in pixels, not in data units, so the headroom it
    needs depends on the rendered figure: draw, measure the overflow, widen by
    it (converted to decades at the current scale) and draw again. The layout
    can move the axes as the ticks change, hence the loop.
    """
    from matplotlib.ticker import LogLocator, NullFormatter

    if widen_only:
        lo, hi = math.log10(low) - 0.1, math.log10(high) + 0.1
    else:
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
