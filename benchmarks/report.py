"""Time every workload on every implementation, interleaved, and judge the performance bars.

    python -m benchmarks.report [--rounds N] [--output DIR] [--smoke] [--report-only]
    python -m benchmarks.report --from-json docs/report.json [--output DIR] [--update-docs]

Every case is timed in many short batches, interleaved with every other case,
in five fresh processes one after another (``benchmarks/stats.py`` says how
and why): its figure is the median batch, with the interquartile range as its
spread, outliers rejected. A bar is judged on the median of round-by-round
ratios, and is met only when the median's interval (over the rounds, widened
to each process's own median) clears it; a bar whose interval straddles it
gets more rounds first, and one that still does is too close to call. The
load average is printed before and after, with a warning when the machine is
busy. Prints the table of times, the speed-ups and the bars; writes
``report.json`` and ``report.png`` into ``--output``. Exits 1 when a bar is
missed or too close to call (0 with
``--report-only``). ``--smoke`` runs a few short rounds to check that
everything runs and judges no bar. ``--from-json`` measures nothing: it draws
the chart of a written report again, and with ``--update-docs`` rewrites the
figures that README.md and docs/performance.md quote from it.
"""

import argparse
import asyncio
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc

import django

import fastsignal
from benchmarks import async_workloads, background_workloads, docs_figures, peers
from benchmarks.chart import draw_chart
from benchmarks.stats import busy, calibrate, load, median_interval, sample, summarize
from benchmarks.workloads import compile_case, fallback_bars, workloads

TRANSIENT_SENDS = 10_000
ROUNDS = 41
#: At most this many more passes of ``--rounds`` rounds for bars too close to call.
SETTLE_PASSES = 8
#: Fresh processes the cases are measured in, one after another (``measure_in_processes``).
PROCESSES = 5
#: At most this many more processes for the workloads of bars still too close to call.
MORE_PROCESSES = 10
TARGET = 0.001
#: The implementation every speed-up is measured against.
BASELINE = "django"


def progress(message, done, total):
    line = f"[{done:>3}/{total}] {message}"
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line.ljust(78)[:78])
        if done == total:
            sys.stderr.write("\n")
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def all_workloads(loop):
    """The dispatch workloads, the async ones (asends on ``loop``), the background ones."""
    return (
        workloads()
        + async_workloads.report_workloads(loop)
        + background_workloads.report_workloads()
    )


#: The clocks a batch can be timed with: the process's CPU time (all its
#: threads), which a neighbour taking the core away does not advance, or
#: wall-clock time.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def calibrated(cases, target, clock="cpu"):
    """``{key: (timer, batch size, namespace)}`` of every case, for ``stats.sample``."""
    timed = {}
    total = len(cases)
    for done, (key, case) in enumerate(cases.items(), 1):
        progress(f"calibrating {' / '.join(map(str, key))}", done, total)
        timer = timeit.Timer(
            case.stmt, setup=case.setup or "pass", timer=CLOCKS[clock], globals=case.namespace
        )
        case.namespace["BATCH"] = 1
        number = calibrate(timer, case.namespace, target)
        timed[key] = (timer, number, case.namespace)
    return timed


def measure(timed, rounds, seed=0):
    """``{key: [ns per operation, one per round]}`` of every calibrated case, interleaved."""

    def rounds_done(done, total):
        progress(f"interleaved rounds ({len(timed)} cases each)", done, total)

    return sample(timed, rounds, seed=seed, progress=rounds_done)


def settle(workload_list, timed, samples, rounds, passes, seed=0):
    """Time again the workloads with a bar too close to call, until none is or ``passes`` ran.

    Each pass times every case of those workloads for ``rounds`` more
    interleaved rounds and adds them to ``samples`` (every case of a workload
    gets the same rounds, so its ratios stay paired). Returns the passes run.
    """
    for done in range(passes):
        close = {row["workload"] for row in evaluate(workload_list, samples) if not row["decided"]}
        if not close:
            return done
        keys = [key for key in timed if key[0] in close]
        print(
            f"too close to call: {', '.join(sorted(close))}; {rounds} more rounds "
            f"(pass {done + 1} of at most {passes})",
            file=sys.stderr,
            flush=True,
        )
        more = measure({key: timed[key] for key in keys}, rounds, seed=seed + done + 1)
        for key in keys:
            samples[key].extend(more[key])
    return passes


def selected_workloads(args, loop):
    """Every workload of the report, or those that ``--only`` names."""
    workload_list = all_workloads(loop)
    if args.only:
        workload_list = [w for w in workload_list if w.name in args.only]
    return workload_list


def measure_here(args):
    """Set up, calibrate and time every case in this process, settling close bars.

    Returns ``(workloads, samples, memory kept by dead senders, settling passes)``.
    """
    loop = asyncio.new_event_loop()
    try:
        workload_list = selected_workloads(args, loop)
        cases = {}
        setups = [(w, impl, setup) for w in workload_list for impl, setup in w.setups.items()]
        for done, (workload, impl, setup) in enumerate(setups, 1):
            progress(f"setting up {workload.name} / {impl}", done, len(setups))
            cases[workload.name, impl] = setup()
        peer_cases = {} if args.only else peers.cases()
        timed = calibrated({**cases, **peer_cases}, args.target, args.clock)
        samples = measure(timed, args.rounds, seed=args.seed)
        passes = 0
        if not args.smoke:
            passes = settle(
                workload_list, timed, samples, args.rounds, args.settle_passes, seed=args.seed
            )
    finally:
        loop.close()
    memory = {}
    if "transient-senders" in {w.name for w in workload_list}:
        memory = {
            impl: retained_bytes(cases["transient-senders", impl], transient_sends(args))
            for impl in ("fastsignal", "fallback", "django", "django-cached")
        }
    return workload_list, samples, memory, passes


def measure_in_processes(args):
    """``measure_here`` in ``args.processes`` fresh processes, one after another, then
    in up to ``args.more_processes`` more for the workloads of bars still too close
    to call across processes.

    Each process has its own memory layout and string hashes, which move some
    figures by more than their spread within one process, as pyperf's worker
    processes show. Returns ``(workloads, samples, runs, memory, passes)``:
    ``samples`` merges the rounds of every process (each case's rounds stay
    paired within a process, so its ratios do after the merge) and ``runs``
    keeps each process's own, for the spread between processes (``evaluate``).
    The memory figures are the first process's.
    """
    loop = asyncio.new_event_loop()
    try:
        workload_list = selected_workloads(args, loop)
    finally:
        loop.close()
    forwarded = ["--rounds", str(args.rounds), "--target", str(args.target)]
    forwarded += ["--clock", args.clock, "--settle-passes", str(args.settle_passes)]
    runs, memory, passes = [], None, 0
    with tempfile.TemporaryDirectory() as scratch:

        def run_process(only):
            nonlocal memory, passes
            path = os.path.join(scratch, f"samples-{len(runs)}.json")
            command = [sys.executable, "-m", "benchmarks.report", "--worker", path]
            command += ["--seed", str(len(runs) * 100), *forwarded]
            for name in only:
                command += ["--only", name]
            subprocess.run(command, check=True)
            with open(path) as handle:
                written = json.load(handle)
            runs.append({tuple(key): values for key, values in written["samples"]})
            memory = written["memory"] if memory is None else memory
            passes = max(passes, written["passes"])

        for index in range(args.processes):
            print(f"process {index + 1} of {args.processes}", file=sys.stderr, flush=True)
            run_process(args.only or ())
        for extra in range(args.more_processes):
            rows = evaluate(workload_list, merged(runs), runs)
            close = sorted({row["workload"] for row in rows if not row["decided"]})
            if not close:
                break
            print(
                f"too close to call across processes: {', '.join(close)}; "
                f"process {extra + 1} of at most {args.more_processes} more, for them",
                file=sys.stderr,
                flush=True,
            )
            run_process(close)
    return workload_list, merged(runs), runs, memory, passes


def merged(runs):
    """The rounds of every process in ``runs``, case by case, in process order."""
    samples = {}
    for run in runs:
        for key, values in run.items():
            samples.setdefault(key, []).extend(values)
    return samples


def write_worker_samples(args):
    """``--worker PATH``: measure in this process and write what the parent merges."""
    _, samples, memory, passes = measure_here(args)
    with open(args.worker, "w") as handle:
        json.dump(
            {
                "samples": [[list(key), values] for key, values in samples.items()],
                "memory": memory,
                "passes": passes,
            },
            handle,
        )
    return 0


def transient_sends(args):
    """How many sends from dying senders the memory figures are taken over."""
    return 100 if args.smoke else TRANSIENT_SENDS


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


def evaluate(workload_list, samples, runs=()):
    """The bars that could be measured, as dicts: workload, bar, the measure (median
    and quartiles of the round-by-round values, rounds), ``low``-``high``, the
    median's interval, each process's median, ``decided`` (the interval lies on
    one side of the bar), ``verdict`` (``"met"``, ``"missed"`` or ``"too close to
    call"``) and ``met``. ``runs`` holds each process's own ``samples``.

    A ratio's interval is the median's 95% interval over all rounds, widened to
    the same interval taken over the processes' own medians when there are
    several. Rounds of one process are not independent of each other the way
    processes are: they share a memory layout and string hashes, and a bar near
    its threshold can land on either side of it from one process to the next.
    Over five process medians that interval runs from the lowest to the highest
    (the true median lies between them 94% of the time, 1 - 2/2^5, whatever
    the distribution); with more processes it narrows to inner order statistics.

    An absolute time (a bar in ns) is judged on the process whose median is
    lowest, with that process's own interval. The machine's neighbours only
    ever add time, and they do to a whole process: on a shared 2-core machine,
    connect and disconnect among 10,000 moved together between 490 and 1,200 ns
    from one process to the next while the ratios taken in the same rounds did
    not. The least disturbed process is the best measure of what the operation
    itself costs here; the table shows every figure over all rounds beside it.

    A bar is met only when its whole interval meets it.
    """
    rows = []
    for workload in workload_list:
        for bar in workload.bars + fallback_bars(workload):
            if (bar.slow is not None and bar.slow not in workload.setups) or (
                bar.fast not in workload.setups
            ):
                continue
            measured_in = [run for run in runs if (workload.name, bar.fast) in run]
            per_process = []
            if len(measured_in) > 1:
                per_process = [_bar_values(bar, workload, run) for run in measured_in]
            medians = [summarize(values).median for values in per_process]
            if bar.slow is None and per_process:
                values = per_process[medians.index(min(medians))]
                low, high = median_interval(values)
            else:
                values = _bar_values(bar, workload, samples)
                low, high = median_interval(values)
                if medians:
                    between_low, between_high = median_interval(medians)
                    low, high = min(low, between_low), max(high, between_high)
            value = summarize(values)
            decided = bar.decided(low, high)
            verdict = "too close to call"
            if decided:
                verdict = "met" if bar.met(value.median) else "missed"
            rows.append(
                {
                    "workload": workload.name,
                    "bar": bar.describe(),
                    **value.as_dict(),
                    "rounds": len(values),
                    "low": low,
                    "high": high,
                    "process_medians": medians,
                    "decided": decided,
                    "verdict": verdict,
                    "met": verdict == "met",
                }
            )
    return rows


def _bar_values(bar, workload, samples):
    return bar.values({impl: samples[workload.name, impl] for impl in workload.setups})


def relative(workload_list, samples, base, over_base=False):
    """``{workload: {impl: Summary as a dict}}`` of ``base / impl`` (or ``impl / base``).

    Taken round by round, for every workload that ``base`` runs.
    """
    result = {}
    for workload in workload_list:
        if base not in workload.setups:
            continue
        reference = samples[workload.name, base]
        result[workload.name] = {}
        for impl in workload.setups:
            if impl == base:
                continue
            pairs = zip(reference, samples[workload.name, impl], strict=True)
            ratios = [s / b if over_base else b / s for b, s in pairs]
            result[workload.name][impl] = summarize(ratios).as_dict()
    return result


def conditions():
    """The machine's load, as the report prints and records it."""
    load_average, cores = load()
    return {"load_average": load_average, "cores": cores, "busy": busy(load_average, cores)}


def describe_load(state, when):
    if state["load_average"] is None:
        return f"load {when}: unknown on this system ({state['cores']} cores)"
    text = f"load {when}: {state['load_average']:.2f} on {state['cores']} cores"
    if state["busy"]:
        text += (
            " -- BUSY: other processes compete for the cores. The verdicts are medians"
            " of ratios between interleaved batches and should hold; absolute times"
            " will be higher than on a quiet machine."
        )
    return text


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"interleaved rounds (default {ROUNDS})"
    )
    parser.add_argument(
        "--target",
        type=float,
        default=TARGET,
        help=f"seconds per batch (default {TARGET})",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="time batches in the process's CPU time (default) or wall-clock time",
    )
    parser.add_argument(
        "--output",
        help="directory for JSON and PNG (default benchmarks/results; "
        "with --from-json, the JSON's directory)",
    )
    parser.add_argument(
        "--settle-passes",
        type=int,
        default=SETTLE_PASSES,
        help="at most this many more passes of --rounds rounds for the workloads of bars "
        f"too close to call (default {SETTLE_PASSES})",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=PROCESSES,
        help=f"measure in this many fresh processes, one after another (default {PROCESSES})",
    )
    parser.add_argument(
        "--more-processes",
        type=int,
        default=MORE_PROCESSES,
        help="then at most this many more processes, one at a time, for the workloads of bars "
        f"still too close to call across processes (default {MORE_PROCESSES})",
    )
    parser.add_argument("--worker", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few quick rounds: checks the suite runs, judges nothing",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="exit 0 even when a bar is missed",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this workload (repeatable)",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    parser.add_argument(
        "--from-json",
        metavar="PATH",
        help="measure nothing: draw the chart of the report.json at PATH again",
    )
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="with --from-json: rewrite the figures README.md and docs/performance.md "
        "quote from that report",
    )
    return parser


def redraw(args):
    with open(args.from_json) as handle:
        report = json.load(handle)
    output = args.output or os.path.dirname(args.from_json) or "."
    os.makedirs(output, exist_ok=True)
    if not args.no_chart:
        png_path = os.path.join(output, "report.png")
        draw_chart(report, png_path)
        print(f"wrote {png_path}")
    if args.update_docs:
        for path in docs_figures.update(report, args.from_json):
            print(f"updated {path}")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.from_json:
        return redraw(args)
    if args.update_docs:
        raise SystemExit("--update-docs works on a written report: give --from-json PATH")
    if args.processes < 1:
        raise SystemExit(f"--processes must be at least 1, not {args.processes}")
    output = args.output or "benchmarks/results"
    if args.smoke:
        args.rounds, args.target = 3, 0.0002
    if args.worker:
        return write_worker_samples(args)
    if not fastsignal.COMPILED:
        print(
            "warning: the compiled engine is not in use; 'fastsignal' runs the fallback",
            file=sys.stderr,
        )
    before = conditions()
    print(describe_load(before, "before"), flush=True)

    started = time.perf_counter()
    if args.processes > 1 and not args.smoke:
        workload_list, samples, runs, memory, passes = measure_in_processes(args)
    else:
        workload_list, samples, memory, passes = measure_here(args)
        runs = [samples]
    processes = 1 if args.smoke else min(args.processes, len(runs))
    after = conditions()
    workload_keys = {(w.name, impl) for w in workload_list for impl in w.setups}
    peer_samples = {key: values for key, values in samples.items() if key not in workload_keys}

    report = {
        "fastsignal": fastsignal.__version__,
        "compiled": fastsignal.COMPILED,
        "django": django.get_version(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "peers": peer_versions(),
        "rounds": args.rounds,
        "processes": processes,
        "more_processes": len(runs) - processes,
        "settle_passes": passes,
        "target_seconds": args.target,
        "clock": args.clock,
        "smoke": args.smoke,
        "load": {"before": before, "after": after},
        "titles": {w.name: w.title for w in workload_list},
        "panels": {w.name: w.panel for w in workload_list},
        "ns_per_operation": {
            w.name: {impl: summarize(samples[w.name, impl]).as_dict() for impl in w.setups}
            for w in workload_list
        },
        "speedup_over_django": relative(workload_list, samples, BASELINE),
        "over_loop": relative(workload_list, samples, "loop", over_base=True),
        "transient_sends": transient_sends(args),
        "transient_memory_bytes": memory,
        "bars": [] if args.smoke else evaluate(workload_list, samples, runs),
        "peer_check": [row.as_dict() for row in peers.check(peer_samples)],
    }
    report["seconds"] = round(time.perf_counter() - started)
    sends = report["transient_sends"]

    print()
    print(docs_figures.format_conditions(report))
    print()
    print(docs_figures.format_table(report))
    if memory:
        print(
            f"\nMemory kept after {sends:,} sends from senders that died (bytes):",
            ", ".join(f"{impl} {size:,}" for impl, size in memory.items()),
        )
    if report["peer_check"]:
        print("\nPeers in their fastest documented form, against their own benchmarks' form:\n")
        print(peers.format_checks(report["peer_check"]))
    if not args.smoke:
        print("\n" + docs_figures.format_bars(report))

    os.makedirs(output, exist_ok=True)
    json_path = os.path.join(output, "report.json")
    with open(json_path, "w") as handle:
        json.dump(report, handle, indent=1)
    print(f"\nwrote {json_path}")
    if not args.no_chart:
        png_path = os.path.join(output, "report.png")
        draw_chart(report, png_path)
        print(f"wrote {png_path}")
    print(describe_load(after, "after"))
    if args.smoke:
        print(
            f"smoke run done in {report['seconds']} s; "
            "performance bars are not judged in smoke mode"
        )
        return 0
    met = sum(row["met"] for row in report["bars"])
    print(f"{met} of {len(report['bars'])} bars met in {report['seconds']} s")
    for row in report["bars"]:
        title = f"{report['titles'][row['workload']]}: {row['bar']}"
        if row["verdict"] == "missed":
            print(f"MISSED: {title} (measured {row['median']:.3g})")
        elif row["verdict"] == "too close to call":
            print(
                f"TOO CLOSE TO CALL after {row['rounds']} rounds: {title} (median "
                f"{row['median']:.3g}, 95% interval {row['low']:.3g} to {row['high']:.3g}): "
                "not shown to be met"
            )
    unfair = [row for row in report["peer_check"] if not row["ok"]]
    for row in unfair:
        print(
            f"PEER CHECK FAILED: {row['peer']} with {row['receivers']} receivers is not "
            "measured in its fastest form: the ratios against it mean nothing"
        )
    if (met < len(report["bars"]) or unfair) and not args.report_only:
        return 1
    return 0


def peer_versions():
    """The versions of the peer libraries measured (``None`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("blinker", "psygnal"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


if __name__ == "__main__":
    sys.exit(main())
