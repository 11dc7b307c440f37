"""Are the peers measured in their fastest form? A check against their own benchmarks.

A ratio to another library means nothing if that library is measured in a slow
form. For each peer and each count of receivers, one interleaved run times:

``suite``      the report's case for that peer (``benchmarks/workloads.py``);
``own``        the form the library's own benchmarks time for the same work:
               psygnal's ``benchmarks/benchmarks.py`` (``EmitSuite``) emits
               ``changed.emit(1)`` from a ``Signal(int)`` declared on a class;
               blinker has no benchmark suite, so its documented form,
               ``signal.send(sender, **kwargs)``;
``loop``       a hand-written Python loop making the same calls the peer makes
               (``receiver(sender)`` for psygnal, ``receiver(sender, **kwargs)``
               collected with the receiver for blinker): what any dispatcher
               written in Python pays at least.

and the check fails when the suite's figure is slower than the library's own
form, or further from the loop than ``MAX_OVER_LOOP`` allows: a peer measured
with its checks on, or through a slow path, shows up as a large ratio (psygnal's
``emit`` to no receivers takes about 30 times a loop; ``emit_fast``, which the
report uses, about 1.2 times).
"""

from dataclasses import dataclass

from benchmarks.stats import paired_ratios, summarize
from benchmarks.workloads import INSTANCE, Case, Sender, make_receivers

#: Receiver counts checked, as in the report's send workloads.
COUNTS = (0, 1, 10)
#: The most a peer's figure may be over the loop of its own calls. A compiled
#: dispatcher costs a little more than the bare loop (it checks liveness,
#: guards re-entrance); a slow form costs several times more.
MAX_OVER_LOOP = {"psygnal": 4.0, "blinker": 5.0}
#: The suite's form may be at most this much slower than the library's own one.
MAX_OVER_OWN = 1.1


def _psygnal(count):
    import psygnal

    from benchmarks.workloads import _psygnal_case

    receivers = make_receivers(count)
    suite = _psygnal_case(receivers)

    class Emitter:  # psygnal's EmitSuite: a Signal(int) declared on a class
        changed = psygnal.Signal(int)

    emitter = Emitter()
    for receiver in receivers:
        emitter.changed.connect(receiver, unique=False)
    namespace = {"Sender": Sender, "receivers": receivers}
    exec("def loop(sender):\n    for receiver in receivers:\n        receiver(sender)\n", namespace)
    return {
        "suite": suite,
        "own": Case("emitter.changed.emit(1)", {"emitter": emitter, "receivers": receivers}),
        "loop": Case("loop(Sender)", namespace),
    }


def _blinker(count):
    import blinker

    from benchmarks.workloads import _blinker_case

    receivers = make_receivers(count)
    suite = _blinker_case(receivers)
    own = blinker.Signal()
    for receiver in receivers:
        own.connect(receiver)
    namespace = {"Sender": Sender, "INSTANCE": INSTANCE, "receivers": receivers}
    exec(
        "def loop(sender, **kwargs):\n"
        "    return [(receiver, receiver(sender, **kwargs)) for receiver in receivers]\n",
        namespace,
    )
    return {
        "suite": suite,
        "own": Case(
            "own.send(Sender, instance=INSTANCE, created=True)",
            {"own": own, "Sender": Sender, "INSTANCE": INSTANCE, "receivers": receivers},
        ),
        "loop": Case("loop(Sender, instance=INSTANCE, created=True)", namespace),
    }


BUILDERS = {"psygnal": _psygnal, "blinker": _blinker}


def cases(peers=None):
    """``{(peer, count, form): Case}`` for the installed peers."""
    import importlib.util

    result = {}
    for peer, build in BUILDERS.items():
        if (peers and peer not in peers) or importlib.util.find_spec(peer) is None:
            continue
        for count in COUNTS:
            for form, case in build(count).items():
                result[peer, count, form] = case
    return result


@dataclass
class PeerCheck:
    peer: str
    count: int
    over_loop: dict  # Summary as a dict: suite / loop
    own_over_loop: dict  # own / loop
    suite_over_own: dict  # suite / own

    @property
    def ok(self):
        return (
            self.over_loop["median"] <= MAX_OVER_LOOP[self.peer]
            and self.suite_over_own["median"] <= MAX_OVER_OWN
        )

    def as_dict(self):
        return {
            "peer": self.peer,
            "receivers": self.count,
            "suite_over_loop": self.over_loop,
            "own_over_loop": self.own_over_loop,
            "suite_over_own": self.suite_over_own,
            "max_over_loop": MAX_OVER_LOOP[self.peer],
            "ok": self.ok,
        }


def check(samples):
    """``[PeerCheck]`` from ``{(peer, count, form): [ns per round]}``."""
    checks = []
    for peer, count, form in samples:
        if form != "suite":
            continue
        suite, own, loop = (samples[peer, count, f] for f in ("suite", "own", "loop"))
        checks.append(
            PeerCheck(
                peer,
                count,
                summarize(paired_ratios(suite, loop)).as_dict(),
                summarize(paired_ratios(own, loop)).as_dict(),
                summarize(paired_ratios(suite, own)).as_dict(),
            )
        )
    return checks


def format_checks(rows):
    """The peer check as a Markdown table (rows are ``PeerCheck.as_dict()``)."""
    lines = [
        "| peer | receivers | report's form / loop | own benchmarks' form / loop "
        "| report's / own | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['peer']} | {row['receivers']} "
            f"| {row['suite_over_loop']['median']:.2f} (at most {row['max_over_loop']:g}) "
            f"| {row['own_over_loop']['median']:.2f} "
            f"| {row['suite_over_own']['median']:.2f} (at most {MAX_OVER_OWN:g}) "
            f"| {'ok' if row['ok'] else '**FAILED**'} |"
        )
    return "\n".join(lines)
