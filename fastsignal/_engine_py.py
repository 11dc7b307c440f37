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
    - ``any_sender``: ``seq -> Entry`` for the receivers connected with
      ``sender=None``;
    - ``by_sender``: sender key -> ``{seq: Entry}``, that sender's own entries;
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
    Weak receivers and senders hold weak references whose callback only sets
    ``registry.dead`` (and ``registry.dead_sender`` for a sender); the next
    operation removes dead entries under the lock.

Functions meant to be methods of a signal class (``self`` is the signal)
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
    ``Exception`` into that receiver's response, logging it. A
    ``RecursionError`` that leaves ``send`` (receivers that send the signal that
    called them, without end) becomes ``SignalRecursionError``, which names the
    receivers that looped.

Concurrency
===========

Guarantees, for threads that share a signal (with the GIL):

1. A send calls every receiver whose ``connect()`` returned before the send
   started, unless its ``disconnect()`` (or its death, for a weak receiver) was
   under way before the send ended.
2. A send calls no receiver whose ``disconnect()`` returned before the send
   started, unless it was connected again before the send ended.
3. Sends never fail because a mutation is under way, and wait for the lock
   only when there is clean-up to apply first: a ``receivers`` list assigned
   before them, or a sender that died (its entries must go before a new
   object at the same address can be mistaken for it). Dead receivers are
   cleaned up by a send only if the lock is free; until then sends skip them.

How. Mutations (connect, disconnect, adoption of an assigned list, clean-up of
dead receivers) run under ``registry.lock``, one at a time. A send takes no
lock: it reads the indexes as they are and may fill the caches (``prepared``,
``any_snapshot``, and in the compiled engine a one-entry memo of the last
sender's snapshot). What makes this safe:

- **A mutation touches one entry in place, or swaps everything in one step.**
  Connect and disconnect change the indexes of one entry. Their only step that
  can run user code (and so switch threads or re-enter the signal) is the
  first: ``entries.setdefault(key, entry)`` or ``entries.pop(key)``. Every other
  step uses sender keys (ints and tuples of ints, from ``make_id``) and ``seq``
  ints. So an exception there leaves nothing half-done, and an entry that the
  mutation does not touch is in every index before, during and after it.
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
  be allocated at its address, and every send applies that clean-up (a
  mutation) before it looks anything up.
- **Nothing a send reads is freed under it.** Snapshots and entries are
  immutable and reference-counted; a send holds its own references to the
  ``Indexes``, the snapshot and the receivers it calls. Cache slots that are
  replaced (the memo, the compiled engine's call plan) are swapped so that the
  old value is released only after the new one is complete: releasing it can
  run a finalizer (``__del__``), which may send again.
- **The ``receivers`` list is a cache too.** A read that builds it keeps it
  only under the same rule as a snapshot. An assignment (which takes no
  lock) stores the list, counts itself in ``assigned`` and sets ``resync``;
  an adoption clears ``resync`` only if no assignment was counted since it
  began, so an assignment made during another adoption is adopted next.
- **Lists are built without running user code.** A send copies an index with
  ``list(d.values())``, which runs no Python code and so cannot see the dict
  change size under it, and orders the copy by ``seq``.
- **Call order comes from the entries read.** A snapshot or a ``receivers``
  list is sorted by priority when one of the entries it holds has one
  (``_call_order``); ``Indexes.ranked``, which a mutation updates in a
  separate step from the dicts, is read only by mutations, under the lock.
  Priorities are ints, so sorting runs no user code.
- **No re-entrant deadlock.** A finalizer that sends the signal while this
  thread is inside a mutation (garbage collection can run one at any
  allocation) finds the registry marked as being written by this thread and
  does not wait for the lock it already holds; it reads the indexes as they
  are and publishes nothing.

Not covered: asynchronous exceptions (a signal handler that raises, such as
``KeyboardInterrupt``, between two bytecodes) can interrupt the pure-Python
engine in the middle of a mutation, as they can any Python code (Django's
dispatcher included). The compiled engine's mutations and publications run in
C, where they cannot be interrupted.

``tests/test_stress.py`` runs threads that connect, disconnect and send with
adversarial lookup keys and checks 1 and 2 on every send, on both engines.
Without the GIL (free-threaded builds) none of this holds: the compiled
module does not declare free-threading support, so importing it turns the GIL
back on.
"""

from __future__ import annotations

import operator
import threading
import weakref
from types import MethodType
from typing import TYPE_CHECKING, Any

from ._common import (
    NONE_ID,
    REGISTRY_ATTR,
    ReceiverItem,
    ReceiversAttribute,
    SenderCacheAttribute,
    SenderCacheView,
    defer,
    log_robust_failure,
    make_id,
    receivers_item,
    send_through_live_receivers,
    signal_recursion_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable

    from ._types import (
        DeferredPairs,
        LiveReceivers,
        LookupKey,
        OnDeath,
        Receiver,
        ReceiversItem,
        Responses,
        SignalLike,
    )

COMPILED = False

_dereference = weakref.ref.__call__  # the referent of any weak reference, in C
_by_seq = operator.attrgetter("seq")


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


_get_ident = threading.get_ident


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
    """The receivers of one sender, split by how a send calls them."""

    __slots__ = ("async_", "deferred", "entries", "sync")

    def __init__(self, entries: list[Entry]) -> None:
        """``entries`` in connection order; kept in call order (see ``_call_order``)."""
        entries = _call_order(entries)
        self.entries = tuple(entries)
        immediate = [e for e in entries if not e.deferred]
        self.sync = tuple(e for e in immediate if not e.is_async)
        self.async_ = tuple(e for e in immediate if e.is_async)
        self.deferred = tuple(e for e in entries if e.deferred)


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
        "next_seq",
        "prepared",
        "ranked",
    )

    def __init__(self) -> None:
        self.entries: dict[Hashable, Entry] = {}
        self.any_sender: dict[int, Entry] = {}
        self.by_sender: dict[Hashable, dict[int, Entry]] = {}
        self.prepared: dict[Hashable, Snapshot] = {}
        self.any_snapshot: Snapshot | None = None
        self.next_seq = 0
        self.ranked = 0  # how many entries have a non-zero priority

    def add(self, entry: Entry) -> bool:
        """Index ``entry`` unless its lookup key is taken; return whether it was added."""
        # The only step that runs user code: if it raises, nothing has changed.
        if self.entries.setdefault(entry.key, entry) is not entry:
            return False
        entry.seq = seq = self.next_seq
        self.next_seq += 1
        if entry.priority:
            self.ranked += 1
        sender_key = entry.sender_key
        if sender_key == NONE_ID:
            self.any_sender[seq] = entry
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender.get(sender_key)
            if own is None:
                own = self.by_sender[sender_key] = {}
            own[seq] = entry
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
            del self.any_sender[entry.seq]
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender[sender_key]
            del own[entry.seq]
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
        self.assigned = 0  # counts assignments of ``receivers``
        self.version = 0  # odd while a mutation is under way (a seqlock)
        self.writer: int | None = None  # thread ident of the mutation under way
        self.indexes = Indexes()

    # -- state kept in step with ``signal.receivers`` -------------------------------

    def flag_dead(self, reference: object = None) -> None:
        """Weakref callback of receivers: may run inside garbage collection, so only
        set a flag."""
        self.dead = True

    def flag_sender_dead(self, reference: object = None) -> None:
        """Weakref callback of senders (and of referents watched for assigned items)."""
        self.dead = True
        self.dead_sender = True

    def request_resync(self) -> None:
        self.resync = True

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

    def ensure_fresh(self) -> None:
        """Apply pending adoption and clean-up before a read.

        Waits for the lock when a ``receivers`` list was assigned (a read must
        see it adopted) or a sender died (its entries must go before a new
        object at its address can be mistaken for it). Dead receivers alone are
        cleaned up only if the lock is free: a send skips them anyway. A
        finalizer running inside this thread's own mutation never waits for
        the lock this thread holds: it reads the indexes as they are.
        """
        if not self.stale() or self.writer == _get_ident():
            return
        if self.dead_sender or self.adoption_pending():
            with self.lock:
                self.refresh()
        elif self.lock.acquire(False):
            try:
                self.refresh()
            finally:
                self.lock.release()

    def _begin(self) -> None:
        self.version += 1
        self.writer = _get_ident()

    def _end(self) -> None:
        self.writer = None
        self.version += 1

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
            dead_sender = self.dead_sender
            self.dead = self.dead_sender = False
            try:
                for entry in [e for e in self.indexes.entries.values() if not e.alive()]:
                    self._remove(entry.key)
            except BaseException:
                self.dead = True  # finish the clean-up next time
                self.dead_sender = self.dead_sender or dead_sender
                raise

    def _adopt(self, items: Iterable[ReceiversItem]) -> None:
        """Index ``items`` aside, then make them the registry's indexes in one step."""
        items = list(items)
        known = {id(e.item): e for e in self.indexes.entries.values()}
        indexes = Indexes()
        dead = False
        for item in items:
            entry = known.get(id(item))
            if entry is not None and entry.item is item:
                entry = entry.copy()
            else:
                entry = _entry_from_foreign_item(item, self.flag_sender_dead)
                dead = dead or not entry.alive()
            indexes.add(entry)
        self.indexes = indexes
        self.list_len = len(items)
        self.dead = self.dead or dead

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
            finally:
                self.lock.release()
        return items

    def set_list(self, items: Iterable[ReceiversItem]) -> None:
        self.list = items if type(items) is list else list(items)
        self.assigned += 1
        self.resync = True

    # -- mutations (the caller holds the lock) --------------------------------------

    def connect(self, entry: Entry) -> None:
        """Index ``entry`` unless its lookup key is taken; keep the list in step."""
        self._begin()
        try:
            self._refresh()
            if self.indexes.add(entry) and self.list is not None:
                if self.indexes.ranked:  # call order is not connection order
                    self.list = None
                else:
                    self.list.append(entry.item)
                    self.list_len += 1
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
        entry = self.indexes.discard(key)
        if entry is None:
            return False
        items = self.list
        if items is not None:
            if items and items[-1] is entry.item:
                items.pop()
                self.list_len -= 1
            else:  # rebuilt on next read; removing from the middle would be O(n)
                self.list = None
        return True

    # -- reading (no lock) -------------------------------------------------------------

    def snapshot(self, sender: Any) -> Snapshot:
        """Return the ``Snapshot`` of receivers for ``sender``."""
        indexes = self.indexes
        # Derived on every send, before any cache is consulted: a sender (or
        # its class) that gains __func__ and __self__ changes key, as in Django.
        sender_key = NONE_ID if sender is None else make_id(sender)
        snap = indexes.prepared.get(sender_key)
        if snap is not None:
            return snap
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
        self.ensure_fresh()
        if not self.indexes.entries:
            return [], []
        snap = self.snapshot(sender)
        return _resolve(snap.sync), _resolve(snap.async_)


def _resolve(entries: Iterable[Entry]) -> list[Receiver]:
    return [r for r in (e.resolve() for e in entries) if r is not None]


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
    registry.ensure_fresh()
    return registry


_observed = False  # an observer is registered (fastsignal.monitoring)


def set_observed(observed: bool) -> None:
    """Route sends through ``send_through_live_receivers``, where observers see them."""
    global _observed
    _observed = observed


def _dispatch(
    signal: SignalLike,
    state: dict[str, Any],
    registry: Registry,
    sender: Any,
    named: dict[str, Any],
    robust: bool,
) -> Responses:
    responses: list[Any]  # below, receivers replaced in place by (receiver, response) pairs
    snap = registry.snapshot(sender)
    # A _live_receivers patched on the class or on the instance decides who receives.
    if (
        _observed
        or type(signal)._live_receivers is not _live_receivers
        or "_live_receivers" in state
    ):
        responses = send_through_live_receivers(signal, sender, named, robust)
        if snap.deferred:
            responses.extend(defer(signal, sender, named, _pairs(snap.deferred), robust))
        return responses
    # Resolve every receiver before calling the first, as Django does: one that
    # an earlier receiver lets die during this send is still called.
    responses = []
    for entry in snap.sync:
        if not entry.weak:
            responses.append(entry.target)
            continue
        receiver = entry.target() if entry.func_ref is None else entry.resolve()
        if receiver is not None:
            responses.append(receiver)
    if robust:
        for index, receiver in enumerate(responses):
            try:
                response = receiver(signal=signal, sender=sender, **named)
            except Exception as err:
                log_robust_failure(receiver, err)
                response = err
            responses[index] = (receiver, response)
    else:
        receiver = None
        try:
            for index, receiver in enumerate(responses):
                responses[index] = (receiver, receiver(signal=signal, sender=sender, **named))
        except RecursionError as err:
            # Free on the normal path (3.11+); see SignalRecursionError.
            raise signal_recursion_error(err, signal, sender, receiver) from None
    if snap.async_:
        from ._async import send_async_receivers

        receivers = _resolve(snap.async_)
        if receivers:
            responses.extend(send_async_receivers(signal, sender, named, receivers, robust))
    if snap.deferred:
        responses.extend(defer(signal, sender, named, _pairs(snap.deferred), robust))
    return responses


# The first lines of send and send_robust are inlined rather than shared: a
# send with nothing connected must cost no more than one in Django.


def send(self, sender, **named):  # type: (SignalLike, Any, **Any) -> Responses
    """Send the signal from ``sender`` to its receivers; return ``[(receiver, response), ...]``.

    A receiver's exception propagates and ends the dispatch.
    """
    state = self.__dict__
    registry: Registry | None = state.get(REGISTRY_ATTR)
    if registry is None or registry.dead or registry.resync or registry.list is not None:
        registry = _fresh_registry(self)
    if not registry.indexes.entries:
        return []
    return _dispatch(self, state, registry, sender, named, False)


def send_robust(self, sender, **named):  # type: (SignalLike, Any, **Any) -> Responses
    """Like ``send``, but a receiver's ``Exception`` is logged and returned as its response."""
    state = self.__dict__
    registry: Registry | None = state.get(REGISTRY_ATTR)
    if registry is None or registry.dead or registry.resync or registry.list is not None:
        registry = _fresh_registry(self)
    if not registry.indexes.entries:
        return []
    return _dispatch(self, state, registry, sender, named, True)


# Named as Django's methods are, in argument errors ("Signal.send() missing ...").
send.__qualname__ = "Signal.send"
send_robust.__qualname__ = "Signal.send_robust"


def has_listeners(self, sender=None):  # type: (SignalLike, Any) -> bool
    """Return whether any live receiver would receive a send from ``sender``."""
    state = self.__dict__
    # A _live_receivers patched on the class or on the instance decides who receives.
    if type(self)._live_receivers is not _live_receivers or "_live_receivers" in state:
        sync_receivers, async_receivers = self._live_receivers(sender)
        return bool(sync_receivers or async_receivers)
    registry: Registry | None = state.get(REGISTRY_ATTR)
    if registry is None or registry.dead or registry.resync or registry.list is not None:
        registry = _fresh_registry(self)
    if not registry.indexes.entries:
        return False
    for entry in registry.snapshot(sender).entries:
        if not entry.weak or entry.resolve() is not None:
            return True
    return False


has_listeners.__qualname__ = "Signal.has_listeners"


def _live_receivers(self, sender):  # type: (object, Any) -> LiveReceivers
    """Return ``(sync_receivers, async_receivers)`` that a send from ``sender`` would call."""
    return registry_of(self).live_receivers(sender)


def _deferred_receivers(self: object, sender: Any) -> DeferredPairs:
    """Return ``[(receiver, ref), ...]`` connected with ``on_commit=True`` for ``sender``."""
    registry = registry_of(self)
    registry.ensure_fresh()
    if not registry.indexes.entries:
        return []
    return _pairs(registry.snapshot(sender).deferred)


def _clear_dead_receivers(self):  # type: (object) -> None
    """Drop dead receivers now. The caller holds ``self.lock``, as in Django."""
    registry_of(self).refresh()


def _flag_dead_receivers(self, reference=None):  # type: (object, object) -> None
    registry_of(self).flag_sender_dead()


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
        registry.connect(entry)


def _disconnect_receiver(self: object, lookup_key: LookupKey) -> bool:
    """Remove the receiver registered under ``lookup_key``; return whether one was."""
    registry = registry_of(self)
    with registry.lock:
        return registry.disconnect(lookup_key)


receivers = ReceiversAttribute(registry_of)
sender_receivers_cache = SenderCacheAttribute(registry_of)
