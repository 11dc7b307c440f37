"""Pure-Python engine: the readable reference for the engine contract.

``_engine_c.pyx`` implements the same contract in Cython; ``_engine.py`` picks
one of the two at import time. Both export the same names.

The contract
============

Registry
    Every signal holds one ``Registry`` in its instance dict under
    ``REGISTRY_ATTR``. ``registry_of(signal)`` returns it, creating it on first
    use (adopting a ``receivers`` list that Django's own ``__init__`` stored in
    the instance dict). The registry holds one ``Indexes`` object:

    - ``entries``: lookup key -> ``Entry``, in connection order. It is the only
      index keyed by user objects (a ``dispatch_uid`` or a sender key that
      comes from an assigned list), so it is the only one whose operations can
      run user code (``__hash__``/``__eq__``);
    - ``any_sender``: ``Entry -> Entry`` (keyed by identity, in ``seq``
      order) for the receivers connected with ``sender=None``;
    - ``by_sender``: sender key -> ``{Entry: Entry}``, that sender's own entries;
    - ``prepared``: sender key -> ``Snapshot``, the merged receivers of one
      sender (its own and the ``any_sender`` ones, ordered by ``seq``, which
      is the connection order), filled by sends; senders without receivers of
      their own share ``any_snapshot``.

    ``seq`` is a per-``Indexes`` counter given to an entry when it is indexed.
    An entry belongs to one ``Indexes`` only, and its ``seq`` never changes.

    A ``Snapshot`` is immutable: a send iterates the one it fetched even if
    another thread connects or disconnects meanwhile.

Receivers list
    ``signal.receivers`` is a real list of ``(lookup_key, receiver_or_ref,
    sender_ref, is_async)`` items (Django 6 layout), built on first read and kept
    in step by connect. Assigning a list, changing the list's length in place, or
    calling ``signal.sender_receivers_cache.clear()`` makes the registry adopt the
    list before the next operation. Adopted lists are de-duplicated by lookup key
    (first item wins).

Weak references
    Weak receivers and senders hold weak references whose callback only counts
    the death in ``registry.deaths`` and sets ``registry.dead`` (and
    ``registry.dead_sender`` for a sender); the next operation removes dead
    entries under the lock.

Functions meant to be methods of a signal class (``self`` is the signal)
    ``connect`` and ``disconnect`` (the public methods, with Django's
    arguments and errors; ``connect(..., background=...)`` hands the checked
    receiver and its lookup key to the class's ``_connect_background``, as the
    background machinery sits above the engines),
    ``send``, ``send_robust``, ``has_listeners``, ``_live_receivers``,
    ``_clear_dead_receivers`` (the caller holds the lock, as in Django),
    ``_flag_dead_receivers``, ``_connect_receiver(lookup_key, receiver, sender,
    weak, is_async, on_commit, priority)`` (the public ``connect`` has validated its arguments) and
    ``_disconnect_receiver(lookup_key) -> bool``; and the data descriptors
    ``receivers`` and ``sender_receivers_cache``.

Sending
    ``send`` returns ``[]`` at once when nothing is connected; goes through
    ``self._live_receivers`` when a subclass or a monitoring tool replaced it;
    otherwise calls each live sync receiver of the sender's snapshot as
    ``receiver(signal=self, sender=sender, **named)`` in call order (priority,
    highest first, then connection order; see ``Snapshot``), then
    the async ones together. ``send_robust`` does the same and turns each
    ``Exception`` into that receiver's response, logging it. The
    interpreter's ``RecursionError`` that leaves the same receiver of the same
    signal twice on its way out (receivers that send the signal that called
    them, without end) becomes ``SignalRecursionError``, which names the
    receivers that looped and has the original as its ``__cause__``. Every
    other exception, a receiver's own deep recursion and ``RecursionError``
    subclasses included, leaves ``send`` as it leaves Django's.

Slow routes
    What the common send does not do itself, it hands to the routes that
    ``set_routes(send_live, send_async, defer)`` gave the engine (from
    ``fastsignal._send_routes``, when it is imported): ``send_live(self, sender,
    named, robust)`` when an observer is registered (``set_observed``) or
    ``_live_receivers`` was replaced; ``send_async(self, sender, named,
    async_receivers, robust)`` after the sync receivers; ``defer(self, sender,
    named, [(receiver, ref), ...], robust)`` for the receivers deferred to
    commit, last. An engine imports only the ground floor of the package (see
    "Floors" in ``docs/development.md``), never a module above it.

Concurrency
===========

Guarantees, for threads that share a signal (with the GIL):

1. A send calls every receiver whose ``connect()`` returned before the send
   started, unless its ``disconnect()`` (or its death, for a weak receiver) was
   under way before the send ended, or a ``receivers`` list assigned after
   that ``connect()`` was called and before the send ended replaced it.
2. A send calls no receiver whose ``disconnect()`` returned before the send
   started, unless it was connected again before the send ended.
3. Every assignment to ``receivers`` and every
   ``sender_receivers_cache.clear()`` that returned before a send started is
   honoured by that send.
4. No send, from any thread, finalizer or signal handler, waits for a lock:
   so none waits on a lock its own thread holds. Sends never fail because a
   mutation is under way.
5. A send never calls a receiver connected for a sender that died before the
   send started, even from a new object at the dead sender's address (or with
   its key), as in Django 6.

How. Mutations (connect, disconnect, adoption of an assigned list, clean-up of
dead receivers) run under ``registry.lock``, one at a time. A send never waits
for the lock: it reads the indexes as they are and may fill the caches
(``prepared``, ``any_snapshot``, and in the compiled engine a one-entry memo of
the last sender's snapshot). What makes this safe:

- **A mutation touches one entry in place, or swaps everything in one step.**
  Connect and disconnect change the indexes of one entry. Their only step that
  can run user code (and so switch threads or re-enter the signal) is the
  first: ``entries.setdefault(key, entry)`` or ``entries.pop(key)``. Every other
  step uses sender keys (ints and tuples of ints, from ``make_id``) and entries
  (hashed and compared by identity). So an exception there leaves nothing
  half-done, and an entry that the mutation does not touch is in every index
  before, during and after it.
  (The keys of an assigned list can be any objects: they are indexed aside.)
  Adoption builds a new ``Indexes`` aside and publishes it with one attribute
  store; a send reads ``registry.indexes`` once and works on that object.
- **The version is a seqlock.** ``version`` is odd while a mutation is under
  way: it is incremented when the mutation starts and again when it ends
  (also when it fails). A send that has to build a snapshot reads ``version``
  first; it publishes what it built only if that version was even and
  ``version`` still has the same value at publication, checked and published
  in one step that no other thread can interleave with: under the lock taken
  without blocking here (nothing is published if it is busy), in one C
  sequence that runs no Python code in the compiled engine. So a snapshot in
  a cache was built entirely from a state that no mutation was changing, and
  any mutation that starts later invalidates it before it ends (it removes the
  prepared snapshots it affects, and the compiled memo is keyed on the
  version). A snapshot built while a mutation was under way is used for that
  one send only.
- **Every cache is keyed on everything its answer depends on**: the sender key
  (from ``make_id``, derived before any cache is consulted) and the registry
  state (the version). The compiled memo of the last sender is consulted only
  for senders whose key is their address, decided without running user code
  (``None``, classes without ``__func__``, plain instances without it), and
  stores the address and the version. A sender that died flagged the
  registry from its weak reference's callback, before another object could
  be allocated at its address, and every send that sees the flag reads
  around the dead entries (see "Pending state") before it looks anything up.
- **Nothing a send reads is freed under it.** Snapshots and entries are
  immutable and reference-counted; a send holds its own references to the
  ``Indexes``, the snapshot and the receivers it calls. Cache slots that are
  replaced (the memo, the compiled engine's call plan) are swapped so that the
  old value is released only after the new one is complete: releasing it can
  run a finalizer (``__del__``), which may send again.
- **What a mutation lets go of is released after the lock.** Adoption replaces
  the indexes, and the clean-up removes the entries of a dead sender; either
  may hold the last reference to a strongly connected receiver, whose
  finalizer may connect or disconnect (in Django the assignment itself, not a
  later call, releases it). So both keep what they let go of in
  ``Registry.retired``, which whoever took the lock takes before releasing it
  and drops after (``take_retired``).
- **Pending state is applied, or read around, never waited for.** Before it
  reads the indexes, a send checks the flags: ``resync`` (a list assigned or
  cleared), a ``receivers`` list whose length changed, ``dead``. If one is
  set it applies the clean-up under the lock if the lock is free
  (``Registry.fresh``). If the lock is busy (another thread's mutation, or
  this thread's own: a finalizer or signal handler run inside a mutation,
  or code that holds ``signal.lock`` and sends) and what is pending must be
  seen (an assignment, a ``clear()``, a dead sender), the send indexes the
  assigned list (or the current indexes) aside, leaving out dead entries, in
  a view used for this send only, which publishes nothing. Dead receivers
  alone are left for later: a send skips them anyway. So rules 3 and 5 hold
  whoever holds the lock, and rule 4 holds because nothing in a send blocks.
- **One attribute tells a send that nothing is pending.** ``ready`` is the
  registry's ``indexes`` when no flag is set and no ``receivers`` list is
  watched, else ``None``; a send that finds it ``None`` checks the flags as
  above. Whatever sets a flag, builds or assigns the list, or replaces the
  indexes stores ``None`` in ``ready`` after it has set them and before it
  returns; only the end of a mutation (``_settle``) stores the indexes
  there, after checking every flag, with no call or allocation between the
  check and the store, so no callback or thread runs between them. So a send
  that reads the indexes from ``ready`` reads them as it would have after
  checking the flags at that moment: a flag set later belongs to an
  operation that had not returned (and a sender's death is flagged before
  its address can be reused).
- **Flags are cleared only when what they report is done.** ``dead`` and
  ``dead_sender`` stay set while the clean-up removes dead entries (a send
  that sees them meanwhile reads around the entries not yet removed), and are
  cleared only if ``deaths``, which every weak-reference callback increments
  before it sets the flags, did not change since the scan began. An adoption
  that finds dead items sets both flags before it publishes the new indexes.
- **The ``receivers`` list is a cache too.** A read that builds it keeps it
  only under the same rule as a snapshot, and only if no list was assigned
  meanwhile (it checks ``list is None`` in the same step). An assignment
  (which takes no lock) increments ``assigned``, stores the list, sets
  ``resync`` and increments ``assigned`` again; ``clear()`` increments ``assigned``
  and sets ``resync``. An adoption reads ``assigned`` before it reads the
  list, and clears ``resync`` only if ``assigned`` did not change since, so an
  assignment or ``clear()`` made during an adoption is adopted next. A
  mutation that keeps the list in step (appends, pops the last item, or drops
  the list to be rebuilt) reads the list, ``assigned`` and whether an adoption
  is pending before its step that runs user code, and after it drops or
  extends the list as in step only if no adoption was pending and
  ``assigned`` is unchanged, checked and stored with no call or allocation in
  between (in the pure-Python engine too: CPython switches threads and runs
  signal handlers and garbage collection only at calls, backward jumps and
  allocations). Otherwise the list it read, if it is still the registry's (a
  list still to be adopted, the same list assigned again, or cleared), is
  edited in place, so that the adoption that follows keeps the mutation; a
  new list assigned meanwhile is left as assigned (the mutation overlapped
  the assignment, which wins). An assignment increments ``assigned`` before
  the store, so a mutation never drops a list stored after its check, and
  again after it sets ``resync``, so an adoption that read the old list sees
  the count change, and a mutation that read the new one sees it pending;
  ``clear()`` increments ``assigned`` before it sets ``resync``. The list an
  assignment replaces is released only after all that: releasing it may run
  a finalizer (the list may hold the last reference to an item added in
  place), and a mutation run by that finalizer must find the assignment
  whole, pending, rather than a new list it could take for one in step.
- **An entry's item is built once.** The compiled engine builds the
  ``receivers`` item of an entry that ``connect`` made when it is first
  needed (a read of ``receivers``, which takes no lock, or a mutation that
  keeps the list in step), and stores it only if no item was stored
  meanwhile, checked and stored with no Python code in between, so every
  list holds the one item of each entry, whatever a finalizer run by the
  allocation built (``tests/test_stress.py`` reads and mutates from several
  threads and checks that identity). An entry whose item was never built is in
  no list, so a mutation that keeps a list in step never looks for it there.
- **Lists are built without running user code.** A send copies an index with
  ``list(d.values())``, which runs no Python code and so cannot see the dict
  change size under it, and orders the copy by ``seq``.
- **What a snapshot derives from its entries is fixed with it.** A
  ``Snapshot``'s ``getters`` (how a send resolves each receiver),
  ``listened`` and ``only_sync`` are computed once, from the entries it
  holds, when it is built; a send that reads them reads nothing that a
  mutation can change, and a getter of a weak receiver returns ``None`` once
  it has died, as ``Entry.resolve`` does. The pure-Python send derives the
  sender's key as ``make_id`` does, on every send; before Python 3.12, for a
  class whose metaclass is ``type`` and whose only base is ``object``, it
  looks for ``__func__`` in the class's ``__dict__`` instead of calling
  ``hasattr`` (the same answer: ``type`` and ``object`` hold none and
  cannot gain one). Nothing about a sender is cached.
- **Call order comes from the entries read.** A snapshot or a ``receivers``
  list is sorted by priority when one of the entries it holds has one
  (``_call_order``); ``Indexes.ranked``, which a mutation updates in a
  separate step from the dicts, is read only by mutations, under the lock.
  Priorities are ints, so sorting runs no user code.
- **Re-entrant sends.** A finalizer or signal handler that sends while this
  thread is inside a mutation (garbage collection can run one at any
  allocation, and from Python 3.12 at the first line of a function) does not
  get the lock; it reads the indexes as they are (consistent, as above), or
  a view if something must be seen, and publishes nothing (the version is
  odd).

Not covered: asynchronous exceptions (a signal handler that raises, such as
``KeyboardInterrupt``, between two bytecodes) can interrupt the pure-Python
engine in the middle of a mutation, as they can any Python code (Django's
dispatcher included). The compiled engine's mutations and publications run in
C, where they cannot be interrupted.

``tests/test_stress.py`` runs threads that connect, disconnect, assign
``receivers``, call ``clear()``, let senders die and send, with adversarial
lookup keys, and checks 1, 2, 3 and 5 on every send, on both engines;
``tests/test_registry_races.py`` makes each interleaving this argument is
about happen deterministically.
Without the GIL (free-threaded builds) none of this holds: the compiled
module does not declare free-threading support, so importing it turns the GIL
back on.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import itertools
import operator
import sys
import threading
import weakref
from inspect import CO_COROUTINE as _CO_COROUTINE
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any

from . import _common

# is_async_callable is asgiref's or inspect's iscoroutinefunction, chosen at import.
from ._common import (  # type: ignore[attr-defined]
    NONE_ID,
    REGISTRY_ATTR,
    DeferringReceiver,
    ReceiverItem,
    ReceiversAttribute,
    SenderCacheAttribute,
    SenderCacheView,
    check_priority,
    debug_checks_enabled,
    is_async_callable,
    log_robust_failure,
    make_id,
    receivers_item,
    signal_recursion_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable

    from ._types import (
        AsyncRoute,
        DeferredPairs,
        DeferRoute,
        LiveReceivers,
        LookupKey,
        OnDeath,
        Receiver,
        ReceiversItem,
        Responses,
        SendRoute,
        SignalLike,  # in type comments
    )

COMPILED = False

_dereference = weakref.ref.__call__  # the referent of any weak reference, in C
_by_seq = operator.attrgetter("seq")

# Before Python 3.12, hasattr() on a class that lacks the attribute formats an
# AttributeError message and throws it away: more than the rest of a send costs.
# A send derives the key of a class whose metaclass is type and whose only base
# is object without it: its __func__ could only be in its own __dict__ (type and
# object have none and cannot gain one), so that is where it looks. Its
# __base__ is object only then: with any other base, a base is __base__.
_SLOW_CLASS_HASATTR = sys.version_info < (3, 12)


def _by_rank(entry: Entry) -> int:
    """Sort key for call order: higher priority first (a stable sort keeps ``seq`` order)."""
    return -entry.priority


def _call_order(entries: list[Entry]) -> list[Entry]:
    """``entries`` (in connection order) in call order: by priority, then connection.

    Decided from the entries themselves, not from ``Indexes.ranked``: a read
    without the lock may run while a mutation has changed one but not the other.
    """
    for entry in entries:
        if entry.priority:
            return sorted(entries, key=_by_rank)  # stable: connection order within a rank
    return entries


class Entry:
    """One connected receiver, with everything a send needs decided in advance."""

    __slots__ = (
        "deferred",
        "func_ref",
        "is_async",
        "item",
        "key",
        "priority",
        "refs",
        "sender_key",
        "seq",
        "target",
        "weak",
    )

    def __init__(self, item: ReceiversItem, on_death: OnDeath | None = None) -> None:
        """Build from a ``receivers`` item.

        ``on_death`` is given for items this registry did not create: their weak
        references do not report deaths to it, so it watches the referents itself.
        """
        self.item = item
        self.key: LookupKey = item[0]
        self.sender_key = self.key[1]
        # The receiver, or a weak reference to it: ``weak`` tells which.
        self.target: Any = item[1]
        self.weak = isinstance(self.target, weakref.ReferenceType)
        if isinstance(item, ReceiverItem):
            self.deferred, self.priority = bool(item.on_commit), int(item.priority)
        else:
            self.deferred, self.priority = False, 0
        if len(item) >= 4:
            sender_ref, self.is_async = item[2], bool(item[3])
        else:  # Django 5.2 layout: (lookup_key, receiver_or_ref, is_async)
            sender_ref, self.is_async = None, bool(item[2])
        refs: list[weakref.ref[Any]] = [sender_ref] if sender_ref is not None else []
        self.func_ref: weakref.ref[Any] | None = None
        if self.weak:
            refs.append(self.target)
            # _func_ref and _meth_type: WeakMethod's own attributes, not in typeshed.
            if type(self.target) is weakref.WeakMethod:
                refs.append(self.target._func_ref)  # type: ignore[attr-defined]
                if self.target._meth_type is MethodType:  # type: ignore[attr-defined]
                    self.func_ref = self.target._func_ref  # type: ignore[attr-defined]
        if on_death is not None:
            refs = [_watch(ref, on_death) for ref in refs]
        self.refs = tuple(refs)
        self.seq = -1

    def copy(self) -> Entry:
        """A new, unindexed entry for the same item (an entry is in one ``Indexes`` only)."""
        clone = Entry.__new__(Entry)
        for name in Entry.__slots__:
            setattr(clone, name, getattr(self, name))
        clone.seq = -1
        return clone

    def resolve(self) -> Receiver | None:
        """Return the receiver to call, or ``None`` if it has died."""
        if self.func_ref is not None:  # a WeakMethod: skip its Python-level __call__
            obj = _dereference(self.target)
            func = self.func_ref()
            return None if obj is None or func is None else MethodType(func, obj)
        # The target is typed Any: the receiver itself, or a weak reference to it.
        return self.target() if self.weak else self.target  # type: ignore[no-any-return]

    def alive(self) -> bool:
        return all(ref() is not None for ref in self.refs)


def _watch(ref: weakref.ref[Any], on_death: OnDeath) -> weakref.ref[Any]:
    """A weak reference to ``ref``'s referent that calls ``on_death`` (a dead one if gone)."""
    # The referent itself: calling a WeakMethod would build a new bound method,
    # and a weak reference to that temporary would die at once.
    referent = weakref.ref.__call__(ref)
    if referent is None:
        return ref
    return weakref.ref(referent, on_death)


class Snapshot:
    """The receivers of one sender, split by how a send calls them.

    ``getters`` holds, for each of ``sync``, a callable that returns its
    receiver, or ``None`` if it died: the weak reference itself for a weakly
    held function, the entry's ``resolve`` for a weakly held bound method, and
    a constant for a strong receiver. A send calls them without looking at the
    entries. ``listened`` tells that a strong receiver is among ``entries``,
    so ``has_listeners`` answers without resolving any; ``only_sync`` that
    there are no async or deferred receivers.
    """

    __slots__ = ("async_", "deferred", "entries", "getters", "listened", "only_sync", "sync")

    def __init__(self, entries: list[Entry]) -> None:
        """``entries`` in connection order; kept in call order (see ``_call_order``)."""
        entries = _call_order(entries)
        self.entries = tuple(entries)
        immediate = [e for e in entries if not e.deferred]
        self.sync = tuple(e for e in immediate if not e.is_async)
        self.async_ = tuple(e for e in immediate if e.is_async)
        self.deferred = tuple(e for e in entries if e.deferred)
        self.getters = tuple(_getter(e) for e in self.sync)
        self.listened = any(not e.weak for e in entries)
        self.only_sync = not (self.async_ or self.deferred)


def _getter(entry: Entry) -> Callable[[], Receiver | None]:
    """A callable returning ``entry``'s receiver, or ``None`` if it died (see ``Snapshot``)."""
    if not entry.weak:
        return itertools.repeat(entry.target).__next__  # in C: no Python frame
    if entry.func_ref is None:
        return entry.target  # type: ignore[no-any-return]  # a weak reference
    return entry.resolve


def _entry_from_foreign_item(item: ReceiversItem, on_death: OnDeath) -> Entry:
    try:
        return Entry(item, on_death)
    except (TypeError, IndexError, AttributeError):
        raise TypeError(
            "signal.receivers items must be (lookup_key, receiver_or_ref, "
            f"sender_ref, is_async) tuples, got {item!r}"
        ) from None


class Indexes:
    """The connected receivers of one registry, indexed for sends (see the contract)."""

    __slots__ = (
        "any_sender",
        "any_snapshot",
        "by_sender",
        "entries",
        "has_dead",
        "next_seq",
        "prepared",
        "ranked",
    )

    def __init__(self) -> None:
        self.entries: dict[Hashable, Entry] = {}
        self.any_sender: dict[Entry, Entry] = {}
        self.by_sender: dict[Hashable, dict[Entry, Entry]] = {}
        self.prepared: dict[Hashable, Snapshot] = {}
        self.any_snapshot: Snapshot | None = None
        self.next_seq = 0
        self.ranked = 0  # how many entries have a non-zero priority
        self.has_dead = False  # built by _index_items with dead entries

    def add(self, entry: Entry) -> bool:
        """Index ``entry`` unless its lookup key is taken; return whether it was added."""
        # The only step that runs user code: if it raises, nothing has changed.
        if self.entries.setdefault(entry.key, entry) is not entry:
            return False
        entry.seq = self.next_seq
        self.next_seq += 1
        if entry.priority:
            self.ranked += 1
        sender_key = entry.sender_key
        if sender_key == NONE_ID:
            self.any_sender[entry] = entry
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender.get(sender_key)
            if own is None:
                own = self.by_sender[sender_key] = {}
            own[entry] = entry
            self.prepared.pop(sender_key, None)
        return True

    def discard(self, key: Hashable) -> Entry | None:
        """Remove and return the entry with lookup key ``key``, or ``None``."""
        # The only step that runs user code: if it raises, nothing has changed.
        entry = self.entries.pop(key, None)
        if entry is None:
            return None
        if entry.priority:
            self.ranked -= 1
        sender_key = entry.sender_key
        if sender_key == NONE_ID:
            del self.any_sender[entry]
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender[sender_key]
            del own[entry]
            if not own:
                del self.by_sender[sender_key]
            self.prepared.pop(sender_key, None)
        return entry


class Registry:
    """Receivers of one signal: the current ``Indexes`` and what keeps them in step."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.cache_view = SenderCacheView(self)
        self.dead = False  # a weak receiver or sender died
        self.dead_sender = False  # a sender died: its entries must go before any lookup
        self.resync = False  # ``list`` must be adopted again
        self.list: list[ReceiversItem] | None = None  # the list ``signal.receivers`` returns
        self.list_len = 0  # its length when last in step
        self.assigned = 0  # counts assignments of ``receivers`` and ``clear()`` calls
        self.deaths = 0  # counts deaths reported by weak-reference callbacks
        self.version = 0  # odd while a mutation is under way (a seqlock)
        self.indexes = Indexes()
        # What a mutation under the lock let go of that may hold the last reference
        # to a receiver (replaced indexes, removed dead entries): released only once
        # the lock is (take_retired), since a finalizer it runs may connect or disconnect.
        self.retired: list[object] | None = None
        # ``indexes`` while nothing is pending (no flag set, no ``list`` to
        # watch), else None: a send reads one attribute instead of the flags.
        self.ready: Indexes | None = self.indexes

    # -- state kept in step with ``signal.receivers`` -------------------------------

    def flag_dead(self, reference: object = None) -> None:
        """Weakref callback of receivers: may run inside garbage collection, so only
        set a flag (and count the death)."""
        self.deaths += 1
        self.dead = True
        self.ready = None

    def flag_sender_dead(self, reference: object = None) -> None:
        """Weakref callback of senders (and of referents watched for assigned items)."""
        self.deaths += 1
        self.dead = True
        self.dead_sender = True
        self.ready = None

    def request_resync(self) -> None:
        self.assigned += 1
        self.resync = True
        self.ready = None

    def adoption_pending(self) -> bool:
        """Whether ``receivers`` was assigned or changed length since last adopted."""
        return self.resync or (self.list is not None and len(self.list) != self.list_len)

    def stale(self) -> bool:
        return self.dead or self.adoption_pending()

    def refresh(self) -> None:
        """Apply pending adoption and clean-up. The caller holds the lock."""
        if self.stale():
            self._begin()
            try:
                self._refresh()
            finally:
                self._end()

    def fresh(self) -> Registry:
        """The registry a read uses once ``stale()``: this one, refreshed if the
        lock is free; otherwise, if what is pending must be seen (a ``receivers``
        list assigned or cleared, or a sender that died), a view built aside for
        this read only. Never waits for the lock: the thread that holds it may
        be this one (a finalizer or a signal handler run inside a mutation, or
        code that holds ``signal.lock``). Dead receivers alone are left for
        later: a send skips them.
        """
        if self.lock.acquire(False):
            try:
                self.refresh()
            finally:
                retired = self.take_retired()
                self.lock.release()
            del retired  # after the release: see ``retired``
        if self.dead_sender or self.adoption_pending():
            return self._view()
        return self

    def _view(self) -> Registry:
        """A registry for one read: the assigned list (or the indexes) indexed aside,
        without dead entries. Its version is odd: it publishes nothing."""
        view = Registry(_VIEW_LOCK)
        items = self.list if self.adoption_pending() else None
        if items is None:
            items = [e.item for e in list(self.indexes.entries.values())]
        view.indexes = _index_items(list(items), self.indexes, self.flag_sender_dead, True)
        view.version = 1
        view.ready = None
        return view

    def _begin(self) -> None:
        self.version += 1

    def _retire(self, garbage: object) -> None:
        if self.retired is None:
            self.retired = [garbage]
        else:
            self.retired.append(garbage)

    def take_retired(self) -> list[object] | None:
        """What ``_retire`` kept, for the caller to drop after releasing the lock."""
        retired, self.retired = self.retired, None
        return retired

    def _end(self) -> None:
        self.version += 1
        self._settle()

    def _settle(self) -> None:
        """Publish ``indexes`` as ``ready`` if nothing is pending (see the contract)."""
        # Checked and stored with no call or allocation in between.
        if not (self.dead or self.resync or self.list is not None):
            self.ready = self.indexes

    def _refresh(self) -> None:
        if self.adoption_pending():
            # set_list takes no lock: a list assigned while this one is being
            # adopted changes ``assigned``, and stays to be adopted next time.
            assigned = self.assigned
            if self.list is not None:  # otherwise the indexes are the only truth
                self._adopt(self.list)
            if self.assigned == assigned:
                self.resync = False
        if self.dead:
            # The flags stay set until the dead entries are gone (a send that
            # sees them meanwhile reads around them), and are cleared only if
            # nothing died since the scan began.
            deaths = self.deaths
            doomed = [e for e in self.indexes.entries.values() if not e.alive()]
            # A receiver connected strongly for a sender that died goes with its entry.
            self._retire(doomed)
            for entry in doomed:
                self._remove(entry.key)
            if self.deaths == deaths:
                self.dead = self.dead_sender = False

    def _adopt(self, items: Iterable[ReceiversItem]) -> None:
        """Index ``items`` aside, then make them the registry's indexes in one step."""
        items = list(items)
        indexes = _index_items(items, self.indexes, self.flag_sender_dead, False)
        if indexes.has_dead:  # flagged first: until they are removed, sends read around them
            self.dead = self.dead_sender = True
        self.ready = None  # until _end settles
        # Receivers the assigned list left out go with the old indexes.
        self._retire(self.indexes)
        self.indexes = indexes
        self.list_len = len(items)

    def get_list(self) -> list[ReceiversItem]:
        """The ``receivers`` list, built on first read and kept in step by mutations."""
        items = self.list
        if items is not None:
            return items
        # Built without the lock (a finalizer that connects may run here), then
        # kept only if no mutation started meanwhile, as _publish does.
        version = self.version
        items = [e.item for e in _call_order(list(self.indexes.entries.values()))]
        if not version & 1 and self.lock.acquire(False):
            try:
                if self.version == version and self.list is None:
                    self.list = items
                    self.list_len = len(items)
                    self.ready = None  # sends watch the list's length from now on
            finally:
                self.lock.release()
        return items

    def set_list(self, items: Iterable[ReceiversItem]) -> None:
        items = items if type(items) is list else list(items)
        # Counted before and after the store: see "The receivers list is a
        # cache too" in the contract. The list replaced is released only on
        # return: releasing it can run a finalizer, which must find this
        # assignment whole.
        previous = self.list
        self.assigned += 1
        self.list = items
        self.resync = True
        self.ready = None
        self.assigned += 1
        del previous

    # -- mutations (the caller holds the lock) --------------------------------------

    def connect(self, entry: Entry) -> None:
        """Index ``entry`` unless its lookup key is taken; keep the list in step."""
        self._begin()
        try:
            self._refresh()
            items, assigned = self.list, self.assigned
            in_step = not self.adoption_pending()  # else ``items`` is still to be adopted
            if self.indexes.add(entry) and items is not None:  # add() may run user code
                if self.assigned == assigned and in_step:
                    if self.indexes.ranked:  # call order is not connection order
                        self.list = None
                    else:
                        items.append(entry.item)
                        self.list_len += 1
                elif self.list is items:  # to be adopted: keep this connect in it
                    items.append(entry.item)
                # else a new list was assigned meanwhile: adopted next, as assigned
        finally:
            self._end()

    def disconnect(self, key: Hashable) -> bool:
        """Remove the entry with ``key``; return whether there was one."""
        self._begin()
        try:
            self._refresh()
            return self._remove(key)
        finally:
            self._end()

    def _remove(self, key: Hashable) -> bool:
        items, assigned = self.list, self.assigned
        in_step = not self.adoption_pending()  # else ``items`` is still to be adopted
        entry = self.indexes.discard(key)  # may run user code
        if entry is None:
            return False
        if items is None:
            return True
        # Checked and stored with no call in between: see the contract.
        if self.assigned == assigned and in_step:
            if items and items[-1] is entry.item:
                items.pop()
                self.list_len -= 1
            else:  # rebuilt on next read; removing from the middle would be O(n)
                self.list = None
        elif self.list is items:  # to be adopted: keep this disconnect in it
            _remove_item(items, entry.item)
        # else a new list was assigned meanwhile: adopted next, as assigned
        return True

    # -- reading (no lock) -------------------------------------------------------------

    def snapshot(self, sender: Any) -> Snapshot:
        """Return the ``Snapshot`` of receivers for ``sender``."""
        indexes = self.indexes
        # Derived on every send, before any cache is consulted: a sender (or
        # its class) that gains __func__ and __self__ changes key, as in Django.
        sender_key = NONE_ID if sender is None else make_id(sender)
        snap = indexes.prepared.get(sender_key)
        if snap is None:
            return self.build_snapshot(indexes, sender_key)
        return snap

    def build_snapshot(self, indexes: Indexes, sender_key: Hashable) -> Snapshot:
        """The ``Snapshot`` for ``sender_key`` after a miss in ``indexes.prepared``,
        published if no mutation started meanwhile."""
        version = self.version
        own = indexes.by_sender.get(sender_key)
        if own is None:
            snap = indexes.any_snapshot
            if snap is None:
                snap = Snapshot(list(indexes.any_sender.values()))
                self._publish(version, indexes, None, snap)
            return snap
        merged = list(own.values())
        merged += list(indexes.any_sender.values())
        merged.sort(key=_by_seq)
        snap = Snapshot(merged)
        self._publish(version, indexes, sender_key, snap)
        return snap

    def _publish(
        self, version: int, indexes: Indexes, sender_key: Hashable | None, snap: Snapshot
    ) -> None:
        """Cache ``snap`` if no mutation started since ``version`` was read (see the contract)."""
        if version & 1 or not self.lock.acquire(False):
            return
        try:
            if self.version == version:
                if sender_key is None:
                    indexes.any_snapshot = snap
                else:
                    indexes.prepared[sender_key] = snap
        finally:
            self.lock.release()

    def live_receivers(self, sender: Any) -> LiveReceivers:
        """Return ``(sync_receivers, async_receivers)``, resolved and alive."""
        registry = self.fresh() if self.stale() else self
        if not registry.indexes.entries:
            return [], []
        snap = registry.snapshot(sender)
        return _resolve(snap.sync), _resolve(snap.async_)


_VIEW_LOCK = threading.Lock()  # the lock of views: never taken


def _index_items(
    items: list[ReceiversItem], known_indexes: Indexes, on_death: OnDeath, live_only: bool
) -> Indexes:
    """``items`` indexed in a new ``Indexes``; entries of ``known_indexes`` for the
    same items are copied, other items get entries watched by ``on_death``. With
    ``live_only``, dead entries are left out; otherwise ``has_dead`` tells if any."""
    known = {id(e.item): e for e in list(known_indexes.entries.values())}
    indexes = Indexes()
    for item in items:
        entry = known.get(id(item))
        if entry is not None and entry.item is item:
            entry = entry.copy()
        else:
            entry = _entry_from_foreign_item(item, on_death)
        if not entry.alive():
            if live_only:
                continue
            indexes.has_dead = True
        indexes.add(entry)
    return indexes


def _remove_item(items: list[ReceiversItem], item: ReceiversItem) -> None:
    """Remove ``item`` (by identity) from ``items``, if there."""
    for index, candidate in enumerate(items):
        if candidate is item:
            # Checked again with no call in between: the list may have changed.
            if items[index] is item:
                del items[index]
            return


def _resolve(entries: Iterable[Entry]) -> list[Receiver]:
    return [r for r in (e.resolve() for e in entries) if r is not None]


def _defer_entries(
    responses: Responses,
    signal: SignalLike,
    sender: Any,
    named: dict[str, Any],
    entries: tuple[Entry, ...],
    robust: bool,
) -> None:
    """Schedule the deferred ``entries`` and add their responses to ``responses``.

    A lone background receiver (the common case) schedules itself directly.
    """
    if len(entries) == 1:
        receiver = entries[0].resolve()
        if isinstance(receiver, DeferringReceiver):
            responses.append(receiver.defer(signal, sender, named, robust))
            return
    responses.extend(_defer(signal, sender, named, _pairs(entries), robust))


def _pairs(entries: Iterable[Entry]) -> DeferredPairs:
    """``[(receiver, ref), ...]`` of the live ``entries``: ``ref`` resolves it later."""
    return [(r, e.target) for r, e in ((e.resolve(), e) for e in entries) if r is not None]


def registry_of(signal: object) -> Registry:
    """Return ``signal``'s registry, creating it on first use."""
    try:
        return signal.__dict__[REGISTRY_ATTR]  # type: ignore[no-any-return]  # a Registry
    except KeyError:
        return _create_registry(signal)


def _create_registry(signal: object) -> Registry:
    state = signal.__dict__
    lock = state.get("lock")
    if lock is None:
        lock = state.setdefault("lock", threading.Lock())
    registry: Registry = Registry(lock)
    registry = state.setdefault(REGISTRY_ATTR, registry)
    items = state.pop("receivers", None)  # set by Django's __init__ before install
    if items:
        registry.set_list(items)
    state.pop("sender_receivers_cache", None)
    return registry


# -- functions that serve as methods of a signal class ---------------------------------
#
# Those that Django's Signal has too are typed with type comments, not annotations:
# inspect.signature() shows them as it shows Django's (and the compiled engine's).


def _fresh_registry(signal: object) -> Registry:
    registry = registry_of(signal)
    return registry.fresh() if registry.stale() else registry


_observed = False  # an observer is registered (fastsignal.monitoring)


def set_observed(observed: bool) -> None:
    """Route sends through ``send_through_live_receivers``, where observers see them."""
    global _observed
    _observed = observed


# The slow routes of a send, from the module above the engines (fastsignal._send_routes),
# which hands them over when it is imported: before any signal exists.
_send_live: SendRoute
_send_async: AsyncRoute
_defer: DeferRoute


def set_routes(send_live: SendRoute, send_async: AsyncRoute, defer: DeferRoute) -> None:
    """Take the slow routes of a send: through ``_live_receivers`` (observed, or replaced),
    to async receivers, and to receivers deferred to commit."""
    global _send_live, _send_async, _defer
    _send_live, _send_async, _defer = send_live, send_async, defer


def pack_instance_keys(
    named: dict[str, Any], instance_keys: dict[type, tuple[str, str]], tag: str
) -> tuple[dict[str, Any], list[str] | None]:
    """``(packed, others)``: ``named`` copied for a task's arguments, with each model
    instance of a class in ``instance_keys`` (class -> ``(label, primary key attname)``)
    whose primary key is an int or a str as ``{tag: "instance", "model": label,
    "pk": pk, "db": alias}``. Plain values (exactly ``None``, bools, ints, strs) stay
    as they are; ``others`` lists the keys of every other value, or is ``None``.

    Background receivers pack every send's arguments this way
    (``fastsignal._travel``); the compiled engine has it for what it costs per send.
    """
    packed = named.copy()
    others = None
    for key, value in named.items():
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str:
            continue
        known = instance_keys.get(kind)
        if known is not None:
            pk = getattr(value, known[1])
            if type(pk) is int or type(pk) is str:
                packed[key] = {tag: "instance", "model": known[0], "pk": pk, "db": value._state.db}
                continue
        if others is None:
            others = []
        others.append(key)
    return packed, others


def _send_function(robust: bool, doc: str) -> Callable[..., Responses]:
    """``send`` (``robust`` false) or ``send_robust``: one function, and one frame.

    Django's receivers count frames (``warnings.warn(stacklevel=...)`` in
    ``django.test.signals``): its ``Signal.send`` and ``send_robust`` call the
    receivers from their own frame, one Python frame between the caller and a
    receiver. So does this function, with everything a send does in its body.
    """

    def send(self, sender, **named):  # type: (SignalLike, Any, **Any) -> Responses
        try:
            registry: Registry = self._fastsignal_registry  # type: ignore[attr-defined]  # REGISTRY_ATTR
        except AttributeError:
            registry = _fresh_registry(self)
        indexes = registry.ready
        if indexes is None:  # something is pending
            registry = _fresh_registry(self)
            indexes = registry.indexes
        if not indexes.entries:
            return []
        responses: list[Any]  # below, receivers replaced in place by (receiver, response) pairs
        # Registry.snapshot, inlined with make_id (see there): a send makes no
        # call before its receivers when the sender's snapshot is ready.
        if sender is None:
            sender_key = NONE_ID
        elif (
            _SLOW_CLASS_HASATTR
            and type(sender) is type
            and sender.__base__ is object
            and "__func__" not in sender.__dict__
        ):
            sender_key = id(sender)
        elif hasattr(sender, "__func__"):
            sender_key = (id(sender.__self__), id(sender.__func__))
        else:
            sender_key = id(sender)
        snap = indexes.prepared.get(sender_key)
        if snap is None and (
            sender_key in indexes.by_sender or (snap := indexes.any_snapshot) is None
        ):
            snap = registry.build_snapshot(indexes, sender_key)
        # A _live_receivers patched on the class or on the instance decides who receives.
        if (
            _observed
            or type(self)._live_receivers is not _live_receivers
            or "_live_receivers" in self.__dict__
        ):
            responses = _send_live(self, sender, named, robust)
            if snap.deferred:
                _defer_entries(responses, self, sender, named, snap.deferred, robust)
            return responses
        # Resolve every receiver before calling the first, as Django does: one that
        # an earlier receiver lets die during this send is still called.
        responses = []
        for get in snap.getters:
            receiver = get()
            if receiver is not None:
                responses.append(receiver)
        if robust:
            for index, receiver in enumerate(responses):
                try:
                    response = receiver(signal=self, sender=sender, **named)
                except Exception as err:
                    log_robust_failure(receiver, err)
                    response = err
                responses[index] = (receiver, response)
        else:
            receiver = None
            try:
                for index, receiver in enumerate(responses):
                    responses[index] = (receiver, receiver(signal=self, sender=sender, **named))
            except RecursionError as err:
                # Free on the normal path (3.11+). Not "from": the helper sets the
                # cause of what it returns, which may be err itself.
                raise signal_recursion_error(err, self, sender, receiver)  # noqa: B904
        if snap.only_sync:
            return responses
        if snap.async_:
            receivers = _resolve(snap.async_)
            if receivers:
                responses.extend(_send_async(self, sender, named, receivers, robust))
        if snap.deferred:
            _defer_entries(responses, self, sender, named, snap.deferred, robust)
        return responses

    # Named as Django's methods are, in argument errors ("Signal.send() missing ...")
    # and in tracebacks.
    name = "send_robust" if robust else "send"
    send.__name__ = name
    send.__qualname__ = f"Signal.{name}"
    send.__doc__ = doc
    send.__code__ = send.__code__.replace(co_name=name)
    if sys.version_info >= (3, 11):
        send.__code__ = send.__code__.replace(co_qualname=f"Signal.{name}")
    return send


_SEND_DOC = """Send the signal from ``sender`` \
to its receivers; return ``[(receiver, response), ...]``.

A receiver's exception propagates and ends the dispatch.
"""
_SEND_ROBUST_DOC = """Like \
``send``, but a receiver's ``Exception`` is logged and returned as its response.
"""

send = _send_function(False, _SEND_DOC)
send_robust = _send_function(True, _SEND_ROBUST_DOC)


def has_listeners(self, sender=None):  # type: (SignalLike, Any) -> bool
    """Return whether any live receiver would receive a send from ``sender``."""
    state = self.__dict__
    # A _live_receivers patched on the class or on the instance decides who receives.
    if type(self)._live_receivers is not _live_receivers or "_live_receivers" in state:
        sync_receivers, async_receivers = self._live_receivers(sender)
        return bool(sync_receivers or async_receivers)
    try:
        registry: Registry = state[REGISTRY_ATTR]
    except KeyError:
        registry = _fresh_registry(self)
    indexes = registry.ready
    if indexes is None:  # something is pending
        registry = _fresh_registry(self)
        indexes = registry.indexes
    if not indexes.entries:
        return False
    # make_id, inlined as in send
    if sender is None:
        sender_key = NONE_ID
    elif (
        _SLOW_CLASS_HASATTR
        and type(sender) is type
        and sender.__base__ is object
        and "__func__" not in sender.__dict__
    ):
        sender_key = id(sender)
    elif hasattr(sender, "__func__"):
        sender_key = (id(sender.__self__), id(sender.__func__))
    else:
        sender_key = id(sender)
    if sender_key in indexes.by_sender:
        snap = indexes.prepared.get(sender_key) or registry.build_snapshot(indexes, sender_key)
    else:  # the receivers of every sender decide
        snap = indexes.any_snapshot or registry.build_snapshot(indexes, sender_key)
    if snap.listened:  # a strong receiver: alive
        return True
    for entry in snap.entries:
        if entry.resolve() is not None:
            return True
    return False


has_listeners.__qualname__ = "Signal.has_listeners"


def _live_receivers(self, sender):  # type: (object, Any) -> LiveReceivers
    """Return ``(sync_receivers, async_receivers)`` that a send from ``sender`` would call."""
    return registry_of(self).live_receivers(sender)


def _deferred_receivers(self: object, sender: Any) -> DeferredPairs:
    """Return ``[(receiver, ref), ...]`` connected with ``on_commit=True`` for ``sender``."""
    registry = _fresh_registry(self)
    if not registry.indexes.entries:
        return []
    return _pairs(registry.snapshot(sender).deferred)


def _clear_dead_receivers(self):  # type: (object) -> None
    """Drop dead receivers now. The caller holds ``self.lock``, as in Django."""
    registry_of(self).refresh()


def _flag_dead_receivers(self, reference=None):  # type: (object, object) -> None
    registry_of(self).flag_sender_dead()


def _check_receiver(receiver: Receiver) -> bool:
    """Validate ``receiver`` as Django's connect does; return whether it is async."""
    if not callable(receiver):
        raise TypeError("Signal receivers must be callable.")
    if debug_checks_enabled():
        from django.utils.inspect import func_accepts_kwargs

        if not func_accepts_kwargs(receiver):
            raise ValueError("Signal receivers must accept keyword arguments (**kwargs).")
    # A plain function without attributes (markcoroutinefunction() sets one)
    # is async exactly when its code is a coroutine's: skip the general test.
    if type(receiver) is FunctionType and not receiver.__dict__:
        if not receiver.__code__.co_flags & _CO_COROUTINE:
            return False
    elif not is_async_callable(receiver):
        return False
    if not _common.HAVE_ASGIREF:
        raise ModuleNotFoundError(
            f"{receiver!r} is an async receiver, and async receivers need asgiref, "
            "which is not installed: pip install asgiref (Django depends on it)",
            name="asgiref",
        )
    return True


def _lookup_key(receiver: object, sender: object, dispatch_uid: Hashable | None) -> LookupKey:
    """``(dispatch_uid or receiver key, sender key)``, as ``connect`` keys a receiver."""
    sender_key = NONE_ID if sender is None else make_id(sender)
    if dispatch_uid:
        try:
            hash(dispatch_uid)
        except TypeError:
            raise TypeError(
                f"dispatch_uid must be hashable, got {type(dispatch_uid).__name__} {dispatch_uid!r}"
            ) from None
        return (dispatch_uid, sender_key)
    # make_id() of a function without attributes is its id(): skip the attribute
    # lookups (one given __func__ and __self__ is keyed by them, as in Django).
    receiver_key = (
        id(receiver)
        if type(receiver) is FunctionType and not receiver.__dict__
        else make_id(receiver)
    )
    return (receiver_key, sender_key)


def connect(
    self,
    receiver,
    sender=None,
    weak=True,
    dispatch_uid=None,
    on_commit=False,
    priority=0,
    background=False,
):
    # type: (Any, Receiver, Any, bool, Hashable | None, bool, int, Any) -> None
    """Connect ``receiver`` to this signal.

    Arguments:

        receiver
            A callable accepting keyword arguments (``**kwargs``): a function,
            a bound method, any callable object, or a coroutine function.
            Must be weakly referenceable when ``weak`` is true.

        sender
            Only sends from this object reach the receiver; ``None`` (the
            default) receives from every sender.

        weak
            Hold the receiver by a weak reference (the default): it is
            disconnected when it is garbage collected. Bound methods are held
            through ``weakref.WeakMethod``.

        dispatch_uid
            A hashable identifier for the receiver. A second receiver with the
            same identifier (and sender) is not added.

        on_commit
            Call the receiver only after the surrounding transaction commits
            (see ``fastsignal.transaction``), with the same keyword arguments;
            on rollback it is not called. ``send`` lists it with the response
            ``fastsignal.DEFERRED``.

        priority
            An int: receivers with a higher priority run first; equal
            priorities (``0``, the default, everywhere keeps Django's order)
            run in connection order. Decided here, so sends pay nothing.

        background
            ``True``, or a dict of task options (``queue_name``,
            ``priority``, ``backend``) and ``fields`` (the model fields whose
            values travel, by argument: ``{"instance": ["email"]}``): run the
            receiver in a worker of the project's task backend after the
            transaction commits, instead of calling it (see
            ``fastsignal.background``). The receiver must be a module-level
            function of an importable module; ``on_commit`` is implied. The
            send's response for it is a ``BackgroundCall``.

    Connecting a receiver that is already connected for that sender does
    nothing. Raises ``TypeError`` for a non-callable receiver, an
    unhashable ``dispatch_uid`` or a ``priority`` that is not an int;
    ``ModuleNotFoundError`` for an async receiver when asgiref is not
    installed; with Django's settings configured and ``DEBUG`` on,
    ``ValueError`` for a receiver that does not accept ``**kwargs``. The
    signal is unchanged when it raises.
    """
    if (
        type(receiver) is FunctionType
        and not dispatch_uid
        and not receiver.__code__.co_flags & _CO_COROUTINE
        and not receiver.__dict__
        and not debug_checks_enabled()
    ):
        # The common case, decided as _check_receiver and _lookup_key decide
        # it, without calling them: a plain sync function, keyed by its id.
        is_async = False
        lookup_key: LookupKey = (id(receiver), NONE_ID if sender is None else make_id(sender))
        if type(priority) is not int:
            priority = check_priority(priority)
    else:
        is_async = _check_receiver(receiver)
        if type(priority) is not int:
            priority = check_priority(priority)
        lookup_key = _lookup_key(receiver, sender, dispatch_uid)
    if background is not False and background is not None:
        # The signal class's own route (fastsignal.Signal's): the background
        # machinery sits above the engines.
        self._connect_background(lookup_key, receiver, sender, on_commit, priority, background)
        return
    _connect_receiver(self, lookup_key, receiver, sender, weak, is_async, on_commit, priority)


def disconnect(self, receiver=None, sender=None, dispatch_uid=None):
    # type: (Any, Receiver | None, Any, Hashable | None) -> bool
    """Disconnect a receiver; return ``True`` if one was connected.

    Identify it by ``receiver`` or by ``dispatch_uid``, with the ``sender``
    it was connected for. Weakly connected receivers need not be
    disconnected: they go when they are garbage collected.
    """
    return _disconnect_receiver(self, _lookup_key(receiver, sender, dispatch_uid))


def _connect_receiver(
    self: object,
    lookup_key: LookupKey,
    receiver: Receiver,
    sender: Any,
    weak: bool,
    is_async: bool,
    on_commit: bool = False,
    priority: int = 0,
) -> None:
    """Register ``receiver`` under ``lookup_key`` unless the key is taken."""
    registry = registry_of(self)
    if weak:
        ref: Callable[[Receiver, OnDeath], weakref.ref[Any]] = weakref.ref
        if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
            ref = weakref.WeakMethod
        receiver = ref(receiver, registry.flag_dead)
    sender_ref = None
    if sender is not None:
        try:
            sender_ref = weakref.ref(sender, registry.flag_sender_dead)
        except TypeError:
            pass
    entry = Entry(receivers_item((lookup_key, receiver, sender_ref, is_async), on_commit, priority))
    with registry.lock:
        try:
            registry.connect(entry)
        finally:
            # Dropped with this frame, after the release: see ``Registry.retired``.
            retired = registry.take_retired()  # noqa: F841


def _disconnect_receiver(self: object, lookup_key: LookupKey) -> bool:
    """Remove the receiver registered under ``lookup_key``; return whether one was."""
    registry = registry_of(self)
    with registry.lock:
        try:
            return registry.disconnect(lookup_key)
        finally:
            # Dropped with this frame, after the release: see ``Registry.retired``.
            retired = registry.take_retired()  # noqa: F841


receivers = ReceiversAttribute(registry_of)
sender_receivers_cache = SenderCacheAttribute(registry_of)
