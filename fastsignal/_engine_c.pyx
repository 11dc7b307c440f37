# cython: language_level=3, binding=True, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""Compiled engine. Same contract as ``_engine_py`` (whose docstring states it).

Differences are of mechanism only: weak references are dereferenced in C,
receivers are called with ``PyObject_Vectorcall`` and a keyword-name tuple built
once per send, and prepared snapshots are published without the lock (a
version number tells whether a mutation happened while one was being built).
"""

import threading
import weakref
from types import MethodType

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport Py_TYPE, PyObject, PyTypeObject
from cpython.weakref cimport PyWeakref_GetObject

from ._common import (
    NONE_ID,
    REGISTRY_ATTR,
    ReceiversAttribute,
    SenderCacheAttribute,
    SenderCacheView,
    call_receivers,
    log_robust_failure,
    make_id,
    send_through_live_receivers,
)


cdef extern from *:
    """
    /* True for a class whose metaclass keeps type's own attribute lookup. */
    static inline int fastsignal_has_type_getattro(PyObject *o) {
        return Py_TYPE(o)->tp_getattro == PyType_Type.tp_getattro;
    }
    """
    bint has_type_getattro "fastsignal_has_type_getattro"(object o)


cdef extern from "Python.h":
    PyTypeObject PyMethod_Type
    PyObject *_PyType_Lookup(PyTypeObject *tp, PyObject *name)
    object PyObject_Vectorcall(object func, PyObject **args, size_t nargsf, object kwnames)
    size_t PY_VECTORCALL_ARGUMENTS_OFFSET
    object PyMethod_New(object func, object self)
    object PyObject_GenericGetDict(object obj, void *context)
    PyObject *PyDict_GetItem(object d, object key)


COMPILED = True

cdef enum Kind:
    STRONG = 0       # the receiver itself
    WEAK_REF = 1     # weakref.ref to the receiver
    WEAK_METHOD = 2  # weakref.WeakMethod of a plain bound method
    WEAK_OTHER = 3   # any other weak reference: resolved by calling it

cdef object _WeakMethod = weakref.WeakMethod
cdef object _ReferenceType = weakref.ReferenceType
cdef object _none_id = NONE_ID
cdef str _REGISTRY_ATTR = REGISTRY_ATTR
cdef str _LIVE_RECEIVERS_NAME = "_live_receivers"
cdef str _FUNC_NAME = "__func__"
cdef str _SIGNAL_NAME = "signal"
cdef tuple _EMPTY = ()
cdef Py_ssize_t _STACK_ARGS = 16


cdef object _watch(object ref, object on_death):
    referent = ref()
    if referent is None:
        return ref
    return weakref.ref(referent, on_death)


cdef class Entry:
    """One connected receiver, with everything a send needs decided in advance."""

    cdef readonly object item
    cdef readonly object key
    cdef readonly object sender_key
    cdef object target
    cdef object func_ref
    cdef int kind
    cdef readonly bint is_async
    cdef tuple refs
    cdef Py_ssize_t seq

    def __init__(self, item, on_death=None):
        self.item = item
        self.key = item[0]
        self.sender_key = self.key[1]
        self.target = item[1]
        if len(item) >= 4:
            sender_ref, self.is_async = item[2], bool(item[3])
        else:  # Django 5.2 layout: (lookup_key, receiver_or_ref, is_async)
            sender_ref, self.is_async = None, bool(item[2])
        refs = [sender_ref] if sender_ref is not None else []
        self.kind = STRONG
        if isinstance(self.target, _ReferenceType):
            refs.append(self.target)
            self.kind = WEAK_OTHER
            if type(self.target) is _WeakMethod:
                self.func_ref = self.target._func_ref
                refs.append(self.func_ref)
                if self.target._meth_type is MethodType:
                    self.kind = WEAK_METHOD
            elif type(self.target) is weakref.ref:
                self.kind = WEAK_REF
        if on_death is not None:
            refs = [_watch(ref, on_death) for ref in refs]
        self.refs = tuple(refs)

    cdef inline object resolve(self):
        """Return the receiver to call, or None if it has died."""
        cdef PyObject *obj
        cdef PyObject *func
        if self.kind == STRONG:
            return self.target
        if self.kind == WEAK_OTHER:
            return self.target()
        obj = PyWeakref_GetObject(self.target)
        if obj == <PyObject *>None:
            return None
        if self.kind == WEAK_REF:
            return <object>obj
        func = PyWeakref_GetObject(self.func_ref)
        if func == <PyObject *>None:
            return None
        return PyMethod_New(<object>func, <object>obj)

    cdef inline bint is_live(self):
        if self.kind == STRONG:
            return True
        if self.kind == WEAK_OTHER:
            return self.target() is not None
        if PyWeakref_GetObject(self.target) == <PyObject *>None:
            return False
        return self.kind == WEAK_REF or PyWeakref_GetObject(self.func_ref) != <PyObject *>None

    cdef bint alive(self):
        for ref in self.refs:
            if ref() is None:
                return False
        return True


cdef class Snapshot:
    """The receivers of one sender, split by how a send calls them."""

    cdef readonly tuple sync
    cdef readonly tuple async_

    def __init__(self, entries):
        sync = []
        async_ = []
        for entry in entries:
            (async_ if (<Entry>entry).is_async else sync).append(entry)
        self.sync = tuple(sync)
        self.async_ = tuple(async_)


cdef list _merge_by_seq(list first, list second):
    """Merge two lists of entries, each ordered by connection, into one."""
    cdef list merged = []
    cdef Py_ssize_t i = 0, j = 0
    cdef Py_ssize_t n = len(first), m = len(second)
    while i < n and j < m:
        if (<Entry>first[i]).seq < (<Entry>second[j]).seq:
            merged.append(first[i])
            i += 1
        else:
            merged.append(second[j])
            j += 1
    merged.extend(first[i:])
    merged.extend(second[j:])
    return merged


cdef object _sender_key(object sender):
    """``make_id(sender)``, without an attribute lookup for the common senders."""
    cdef PyTypeObject *tp
    if sender is None:
        return _none_id
    tp = Py_TYPE(sender)
    if tp == &PyMethod_Type:
        return (id(sender.__self__), id(sender.__func__))
    if has_type_getattro(sender):
        # A class whose metaclass keeps type's attribute lookup: ``__func__``
        # could only come from the metaclass or the class's own MRO.
        if (_PyType_Lookup(tp, <PyObject *>_FUNC_NAME) == NULL
                and _PyType_Lookup(<PyTypeObject *>sender, <PyObject *>_FUNC_NAME) == NULL):
            return id(sender)
    return make_id(sender)


cdef class Registry:
    """Receivers of one signal, indexed by lookup key and by sender."""

    cdef readonly object lock
    cdef readonly object cache_view
    cdef readonly object on_death
    cdef public bint dead
    cdef public bint resync
    cdef object list
    cdef Py_ssize_t list_len
    cdef dict entries
    cdef dict any_sender
    cdef dict by_sender
    cdef dict prepared
    cdef Snapshot any_snapshot
    cdef Py_ssize_t next_seq
    cdef size_t version

    def __init__(self, lock):
        self.lock = lock
        self.cache_view = SenderCacheView(self)
        self.on_death = self.flag_dead
        self.list = None
        self._clear_indexes()

    # -- state kept in step with ``signal.receivers`` -------------------------------

    def flag_dead(self, reference=None):
        """Weakref callback: may run inside garbage collection, so only set a flag."""
        self.dead = True

    def request_resync(self):
        self.resync = True

    cdef inline bint stale(self):
        return self.dead or self.resync or (
            self.list is not None and len(<list>self.list) != self.list_len)

    def refresh(self):
        """Apply pending adoption and clean-up. The caller holds the lock."""
        if self.resync or (self.list is not None and len(<list>self.list) != self.list_len):
            self.resync = False
            self._adopt(self.list if self.list is not None else [])
        if self.dead:
            self.dead = False
            for entry in [e for e in self.entries.values() if not (<Entry>e).alive()]:
                self.remove((<Entry>entry).key)

    cdef inline void ensure_fresh(self) except *:
        if self.stale():
            with self.lock:
                self.refresh()

    cdef _adopt(self, list items):
        known = {id((<Entry>e).item): e for e in self.entries.values()}
        adopted = []
        for item in items:
            entry = known.get(id(item))
            if entry is None or (<Entry>entry).item is not item:
                entry = _entry_from_foreign_item(item, self.on_death)
                self.dead = self.dead or not (<Entry>entry).alive()
            adopted.append(entry)
        self._clear_indexes()
        for entry in adopted:
            self._index(<Entry>entry)
        self.list = items
        self.list_len = len(items)

    cdef _clear_indexes(self):
        self.entries = {}
        self.any_sender = {}
        self.by_sender = {}
        self.prepared = {}
        self.any_snapshot = None
        self.version += 1

    def get_list(self):
        if self.list is None:
            self.list = [(<Entry>e).item for e in list(self.entries.values())]
            self.list_len = len(<list>self.list)
        return self.list

    def set_list(self, items):
        self.list = items if type(items) is list else list(items)
        self.resync = True

    # -- mutations (the caller holds the lock and has called refresh()) -------------

    cdef bint _index(self, Entry entry) except -1:
        if entry.key in self.entries:
            return False
        self.version += 1
        entry.seq = self.next_seq
        self.next_seq += 1
        self.entries[entry.key] = entry
        if entry.sender_key == _none_id:
            self.any_sender[entry.key] = entry
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender.get(entry.sender_key)
            if own is None:
                own = self.by_sender[entry.sender_key] = {}
            own[entry.key] = entry
            self.prepared.pop(entry.sender_key, None)
        return True

    def add(self, Entry entry):
        """Index ``entry`` unless its lookup key is taken; keep the list in step."""
        if self._index(entry) and self.list is not None:
            (<list>self.list).append(entry.item)
            self.list_len += 1

    def remove(self, key):
        """Remove the entry with ``key``; return whether there was one."""
        cdef Entry entry = self.entries.pop(key, None)
        if entry is None:
            return False
        self.version += 1
        if entry.sender_key == _none_id:
            del self.any_sender[key]
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender[entry.sender_key]
            del own[key]
            if not own:
                del self.by_sender[entry.sender_key]
            self.prepared.pop(entry.sender_key, None)
        if self.list is not None:
            if self.list and (<list>self.list)[-1] is entry.item:
                (<list>self.list).pop()
                self.list_len -= 1
            else:  # rebuilt on next read; removing from the middle would be O(n)
                self.list = None
        return True

    # -- reading ---------------------------------------------------------------------

    cdef Snapshot snapshot(self, object sender):
        """Return the ``Snapshot`` of receivers for ``sender``."""
        cdef object sender_key = _sender_key(sender)
        cdef PyObject *found = PyDict_GetItem(self.prepared, sender_key)
        cdef Snapshot snap
        cdef size_t version
        if found != NULL:
            return <Snapshot>found
        found = PyDict_GetItem(self.by_sender, sender_key)
        if found == NULL:
            snap = self.any_snapshot
            if snap is None:
                version = self.version
                snap = Snapshot(list(self.any_sender.values()))
                if version == self.version:
                    self.any_snapshot = snap
            return snap
        version = self.version
        snap = Snapshot(_merge_by_seq(
            list((<dict>found).values()), list(self.any_sender.values())))
        if version == self.version:
            self.prepared[sender_key] = snap
        return snap

    def live_receivers(self, sender):
        """Return ``(sync_receivers, async_receivers)``, resolved and alive."""
        self.ensure_fresh()
        if not self.entries:
            return [], []
        snap = self.snapshot(sender)
        return _resolve(snap.sync), _resolve(snap.async_)


cdef list _resolve(tuple entries):
    cdef list live = []
    for entry in entries:
        receiver = (<Entry>entry).resolve()
        if receiver is not None:
            live.append(receiver)
    return live


def _entry_from_foreign_item(item, on_death):
    try:
        return Entry(item, on_death)
    except (TypeError, IndexError, AttributeError):
        raise TypeError(
            "signal.receivers items must be (lookup_key, receiver_or_ref, "
            f"sender_ref, is_async) tuples, got {item!r}"
        ) from None


cdef inline Registry _registry(object signal):
    cdef PyObject *found = PyDict_GetItem(PyObject_GenericGetDict(signal, NULL), _REGISTRY_ATTR)
    if found != NULL and type(<object>found) is Registry:
        return <Registry>found
    return _create_registry(signal)


cdef Registry _create_registry(object signal):
    state = signal.__dict__
    lock = state.get("lock")
    if lock is None:
        lock = state.setdefault("lock", threading.Lock())
    registry = state.setdefault(_REGISTRY_ATTR, Registry(lock))
    items = state.pop("receivers", None)  # set by Django's __init__ before install
    if items:
        registry.set_list(items)
    state.pop("sender_receivers_cache", None)
    return registry


def registry_of(signal):
    """Return ``signal``'s registry, creating it on first use."""
    return _registry(signal)


cdef inline bint _live_receivers_replaced(object signal):
    return _PyType_Lookup(Py_TYPE(signal), <PyObject *>_LIVE_RECEIVERS_NAME) != <PyObject *>_live_receivers_function


cdef list _call_entries(object signal, object sender, dict named, tuple entries, bint robust):
    """Call each live entry as ``receiver(signal=signal, sender=sender, **named)``."""
    cdef list responses = []
    cdef Py_ssize_t nkw = len(named) + 2
    cdef PyObject *stack[16]
    cdef PyObject **args = stack
    cdef Py_ssize_t i
    cdef tuple values
    cdef tuple kwnames
    if not entries:
        return responses
    if _SIGNAL_NAME in named:  # let Python raise its "multiple values" TypeError
        return call_receivers(signal, sender, named, _resolve(entries), robust)
    values = tuple(named.values())
    kwnames = ("signal", "sender") + tuple(named)
    if nkw + 1 > _STACK_ARGS:
        args = <PyObject **>PyMem_Malloc((nkw + 1) * sizeof(PyObject *))
        if args == NULL:
            raise MemoryError()
    # args[0] is scratch space that PY_VECTORCALL_ARGUMENTS_OFFSET lets callees use.
    args[0] = NULL
    args[1] = <PyObject *>signal
    args[2] = <PyObject *>sender
    for i in range(nkw - 2):
        args[3 + i] = <PyObject *>values[i]
    try:
        for entry in entries:
            receiver = (<Entry>entry).resolve()
            if receiver is None:
                continue
            if robust:
                try:
                    response = PyObject_Vectorcall(
                        receiver, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames)
                except Exception as err:
                    log_robust_failure(receiver, err)
                    response = err
            else:
                response = PyObject_Vectorcall(
                    receiver, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames)
            responses.append((receiver, response))
    finally:
        if args != stack:
            PyMem_Free(args)
    return responses


cdef object _send(object signal, object sender, dict named, bint robust):
    cdef Registry registry = _registry(signal)
    registry.ensure_fresh()
    if not registry.entries:
        return []
    if _live_receivers_replaced(signal):
        return send_through_live_receivers(signal, sender, named, robust)
    cdef Snapshot snap = registry.snapshot(sender)
    cdef list responses = _call_entries(signal, sender, named, snap.sync, robust)
    if snap.async_:
        receivers = _resolve(snap.async_)
        if receivers:
            from ._async import send_async_receivers

            responses.extend(send_async_receivers(signal, sender, named, receivers, robust))
    return responses


# -- functions that serve as methods of a signal class ---------------------------------


def send(self, sender, **named):
    """Send the signal from ``sender`` to its receivers; return ``[(receiver, response), ...]``.

    A receiver's exception propagates and ends the dispatch.
    """
    return _send(self, sender, named, False)


def send_robust(self, sender, **named):
    """Like ``send``, but a receiver's ``Exception`` is logged and returned as its response."""
    return _send(self, sender, named, True)


def has_listeners(self, sender=None):
    """Return whether any live receiver would receive a send from ``sender``."""
    if _live_receivers_replaced(self):
        sync_receivers, async_receivers = self._live_receivers(sender)
        return bool(sync_receivers or async_receivers)
    cdef Registry registry = _registry(self)
    registry.ensure_fresh()
    if not registry.entries:
        return False
    cdef Snapshot snap = registry.snapshot(sender)
    for entry in snap.sync:
        if (<Entry>entry).is_live():
            return True
    for entry in snap.async_:
        if (<Entry>entry).is_live():
            return True
    return False


def _live_receivers(self, sender):
    """Return ``(sync_receivers, async_receivers)`` that a send from ``sender`` would call."""
    return _registry(self).live_receivers(sender)


cdef object _live_receivers_function = _live_receivers


def _clear_dead_receivers(self):
    """Drop dead receivers now. The caller holds ``self.lock``, as in Django."""
    _registry(self).refresh()


def _flag_dead_receivers(self, reference=None):
    _registry(self).dead = True


def _connect_receiver(self, lookup_key, receiver, sender, weak, is_async):
    """Register ``receiver`` under ``lookup_key`` unless the key is taken."""
    cdef Registry registry = _registry(self)
    if weak:
        ref = weakref.ref
        if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
            ref = _WeakMethod
        receiver = ref(receiver, registry.on_death)
    sender_ref = None
    if sender is not None:
        try:
            sender_ref = weakref.ref(sender, registry.on_death)
        except TypeError:
            pass
    entry = Entry((lookup_key, receiver, sender_ref, is_async))
    with registry.lock:
        registry.refresh()
        registry.add(entry)


def _disconnect_receiver(self, lookup_key):
    """Remove the receiver registered under ``lookup_key``; return whether one was."""
    cdef Registry registry = _registry(self)
    with registry.lock:
        registry.refresh()
        return registry.remove(lookup_key)


receivers = ReceiversAttribute(registry_of)
sender_receivers_cache = SenderCacheAttribute(registry_of)
