"""Time every workload on every implementation, interleaved, and report ratios.

    python -m benchmarks.report [--rounds N] [--output DIR] [--smoke]

Rounds are interleaved (every case once per round, in turn) so that a noisy
neighbour slows all implementations alike; each case keeps its best round.
Prints a table of times and of ratios with the performance bars, and writes
``report.json`` and ``report.png`` (ratios, log scale) into ``--output``.
"""

import argparse
import gc
import json
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


def draw_chart(workload_list, best, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [w.title for w in workload_list if "django" in w.setups]
    series = {
        "fastsignal (compiled)": "fastsignal",
        "fastsignal (fallback)": "fallback",
    }
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.5))
    height = 0.38
    for offset, (label, impl) in enumerate(series.items()):
        ratios = [
            best[w.name, "django"] / best[w.name, impl]
            for w in workload_list
            if "django" in w.setups
        ]
        positions = [i + offset * height for i in range(len(names))]
        bars = ax.barh(positions, ratios, height=height, label=label)
        ax.bar_label(bars, labels=[f"{r:.1f}x" for r in ratios], padding=3, fontsize=8)
    ax.set_yticks([i + height / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over django.dispatch.Signal (uncached), log scale")
    ax.set_title(
        f"fastsignal {fastsignal.__version__} vs Django {django.get_version()}, "
        f"Python {platform.python_version()}"
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.02, help="seconds per batch")
    parser.add_argument("--output", default="benchmarks/results", help="directory for JSON and PNG")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one quick round: checks the suite runs, judges nothing",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    args = parser.parse_args(argv)
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

    rows = evaluate(workload_list, best)
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
    print("\n" + format_bars(rows))

    import os

    os.makedirs(args.output, exist_ok=True)
    report = {
        "fastsignal": fastsignal.__version__,
        "compiled": fastsignal.COMPILED,
        "django": django.get_version(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": args.rounds,
        "smoke": args.smoke,
        "ns_per_operation": {
            w.name: {impl: best[w.name, impl] for impl in w.setups} for w in workload_list
        },
        "transient_memory_bytes": memory,
        "bars": [
            {"workload": w.name, "bar": bar.describe(), "ratio": ratio, "met": met}
            for w, bar, ratio, met in rows
        ],
    }
    json_path = os.path.join(args.output, "report.json")
    with open(json_path, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"\nwrote {json_path}")
    if not args.no_chart:
        png_path = os.path.join(args.output, "report.png")
        draw_chart(workload_list, best, png_path)
        print(f"wrote {png_path}")
    missed = [row for row in rows if not row[3]]
    print(
        f"{len(rows) - len(missed)} of {len(rows)} bars met "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
