"""The report's tables and sentences, for the terminal and for the docs that quote them.

Every figure the README and the docs give about speed comes from one written
report (``docs/report.json``): each quoting file holds the generated text
between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->``, and

    python -m benchmarks.report --from-json docs/report.json --update-docs

writes them again. ``tests``-side, ``benchmarks/test_docs_figures.py`` fails
when a block differs from what the committed report gives, so the pages cannot
contradict the report or each other.
"""

import os
import re

#: The files that quote the report, relative to the project's root.
QUOTING_FILES = ("README.md", "docs/performance.md", "docs/async.md")

BLOCK = re.compile(
    r"(<!-- report:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /report:(?P=name) -->)", re.S
)


def _summary(data):
    return data["median"], data["q1"], data["q3"]


def format_ns(data):
    """``1,476 ±12``: median ns and half the interquartile range."""
    median, q1, q3 = _summary(data)
    half = (q3 - q1) / 2
    digits = 0 if median >= 100 else 1
    return f"{median:,.{digits}f} ±{half:,.{digits if half < 100 else 0}f}"


def format_ratio(data, suffix="x"):
    """``3.52x ±0.04``: median ratio and half the interquartile range."""
    median, q1, q3 = _summary(data)
    half = (q3 - q1) / 2
    if median >= 100:
        return f"{median:,.0f}{suffix} ±{half:,.0f}"
    return f"{median:.2f}{suffix} ±{half:.2f}"


def implementations(report):
    impls = []
    for times in report["ns_per_operation"].values():
        impls += [impl for impl in times if impl not in impls]
    return impls


def format_conditions(report):
    """One paragraph: versions, rounds, load before and after."""
    peers = ", ".join(
        f"{name} {version}" for name, version in report.get("peers", {}).items() if version
    )
    loads = []
    for when in ("before", "after"):
        state = report["load"][when]
        if state["load_average"] is not None:
            loads.append(f"{state['load_average']:.2f} {when}")
    cores = report["load"]["before"]["cores"]
    busy = any(report["load"][when]["busy"] for when in ("before", "after"))
    load_text = f"load average {' and '.join(loads)} on {cores} cores" if loads else "load unknown"
    if busy:
        load_text += " (busy)"
    compiled = "compiled engine" if report["compiled"] else "compiled engine NOT loaded"
    return (
        f"fastsignal {report['fastsignal']} ({compiled}), Django {report['django']}, "
        f"Python {report['python']}{', ' + peers if peers else ''}; "
        f"{_processes(report)}{report['rounds']} interleaved rounds of batches of about "
        f"{report['target_seconds'] * 1000:g} ms{_settled(report)}, {load_text}; "
        f"{report.get('seconds', '?')} s in all."
    )


def _processes(report):
    processes = report.get("processes", 1)
    text = f"{processes} processes, each " if processes > 1 else ""
    more = report.get("more_processes", 0)
    if more > 0:
        text = (
            f"{processes} processes ({more} more for the workloads with a bar too close "
            "to call across them), each "
        )
    return text


def _settled(report):
    passes = report.get("settle_passes")
    if not passes:
        return ""
    return (
        f" ({passes} more pass{'es' if passes > 1 else ''} of as many rounds"
        " for the workloads with a bar too close to call)"
    )


def format_table(report):
    """Median ns per operation ± half the IQR, and the speed-ups over Django and the loop."""
    impls = implementations(report)
    header = "| workload | " + " | ".join(impls) + " | django / fastsignal | fastsignal / loop |"
    lines = [header, "|" + " --- |" * (len(impls) + 3)]
    for name, times in report["ns_per_operation"].items():
        cells = [format_ns(times[impl]) if impl in times else "" for impl in impls]
        speedup = report["speedup_over_django"].get(name, {}).get("fastsignal")
        floor = report.get("over_loop", {}).get(name, {}).get("fastsignal")
        lines.append(
            f"| {report['titles'][name]} | "
            + " | ".join(cells)
            + f" | {format_ratio(speedup) if speedup else ''}"
            + f" | {format_ratio(floor, '') if floor else ''} |"
        )
    return "\n".join(lines)


def format_bars(report):
    """Every bar: its measure (median ± half the IQR of the round-by-round values) and verdict."""
    lines = ["| workload | bar | measured | |", "| --- | --- | --- | --- |"]
    for row in report["bars"]:
        measured = format_ns(row) if row["bar"].endswith(" ns") else format_ratio(row, "")
        verdict = {"met": "met", "missed": "**MISSED**"}.get(
            row["verdict"],
            f"**too close to call** ({row['low']:.3g} to {row['high']:.3g} "
            f"after {row['rounds']} rounds)",
        )
        lines.append(
            f"| {report['titles'][row['workload']]} | {row['bar']} | {measured} | {verdict} |"
        )
    met = sum(row["met"] for row in report["bars"])
    lines.append("")
    lines.append(f"{met} of {len(report['bars'])} bars met.")
    return "\n".join(lines)


def format_memory(report):
    sizes = report.get("transient_memory_bytes") or {}
    text = ", ".join(f"{impl} {size:,}" for impl, size in sizes.items())
    return (
        f"Net change in allocated memory after {report.get('transient_sends', 10_000):,} "
        f"sends from senders that then died (bytes): {text}."
    )


def _speedup(report, name, impl="fastsignal"):
    return report["speedup_over_django"][name][impl]["median"]


def _bar(report, name, description):
    for row in report["bars"]:
        if row["workload"] == name and row["bar"] == description:
            return row
    raise KeyError((name, description))


def format_summary(report):
    """The README's summary of the headline figures."""
    send1 = _speedup(report, "send-1")
    connects = [
        _speedup(report, name)
        for name in ("connect-new-10000", "disconnect-10000")
        if name in report["speedup_over_django"]
    ]
    fallback_rows = [row for row in report["bars"] if "/ fallback" in row["bar"]]
    fallback_met = sum(row["met"] for row in fallback_rows)
    text = (
        f"With the compiled engine, a send to one function receiver is {send1:.2f}x faster "
        f"than with Django's `Signal`"
    )
    if connects:
        text += (
            f" and connecting or disconnecting among 10,000 receivers "
            f"{min(connects):,.0f} to {max(connects):,.0f} times faster (O(1) instead of a scan)"
        )
    text += (
        f"; the pure-Python engine is at least level with Django's dispatchers on "
        f"{fallback_met} of {len(fallback_rows)} comparisons"
    )
    asend = [row for row in report["bars"] if row["workload"].startswith("asend")]
    asend = [row for row in asend if row["bar"].startswith("django61 / fastsignal")]
    if asend:
        low = min(row["median"] for row in asend)
        high = max(row["median"] for row in asend)
        text += (
            f"; `asend` and `asend_robust` are {low:.1f}x to {high:.1f}x faster than Django 6.1's"
        )
    met = sum(row["met"] for row in report["bars"])
    return text + f". {met} of {len(report['bars'])} performance bars met."


def format_asend(report):
    """The async page's paragraph on what ``asend`` costs."""
    rows = []
    for name, title in report["titles"].items():
        if report.get("panels", {}).get(name) != "async":
            continue
        per_impl = report["speedup_over_django"].get(name, {})
        if "fastsignal" not in per_impl or "django61" not in per_impl:
            continue
        ratio = per_impl["fastsignal"]["median"] / per_impl["django61"]["median"]
        rows.append(f"{title}: {ratio:.2f}x")
    if not rows:
        return "The committed report has no asend workloads measured against Django 6.1."
    return "Against Django 6.1's, in the committed report: " + "; ".join(rows) + "."


def format_peers(report):
    from benchmarks.peers import format_checks

    if not report.get("peer_check"):
        return "The committed report has no peer check (blinker and psygnal were not installed)."
    return format_checks(report["peer_check"])


RENDERERS = {
    "peers": format_peers,
    "conditions": format_conditions,
    "table": format_table,
    "bars": format_bars,
    "memory": format_memory,
    "summary": format_summary,
    "asend": format_asend,
}


def blocks(text):
    """``[(name, body)]`` of the report blocks in ``text``."""
    return [(m["name"], m["body"]) for m in BLOCK.finditer(text)]


def render(report, name):
    return RENDERERS[name](report).rstrip("\n") + "\n"


def rewrite(text, report):
    return BLOCK.sub(lambda m: m.group(1) + render(report, m["name"]) + m.group(4), text)


def root_of(json_path):
    """The project's root for a report at ``docs/report.json``."""
    return os.path.dirname(os.path.dirname(os.path.abspath(json_path)))


def update(report, json_path):
    """Rewrite every report block of the quoting files; return the paths changed."""
    root = root_of(json_path)
    changed = []
    for relative in QUOTING_FILES:
        path = os.path.join(root, relative)
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            text = handle.read()
        new = rewrite(text, report)
        if new != text:
            with open(path, "w") as handle:
                handle.write(new)
            changed.append(path)
    return changed
