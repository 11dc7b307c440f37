# cython: language_level=3, binding=True, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""Compiled engine. Same contract as ``_engine_py`` (whose docstring states it).

Differences are of mechanism only: ``send`` and ``send_robust`` are vectorcall
objects that pass the caller's own argument array to every receiver, with the
receivers' keyword names worked out once per call site; weak references are
dereferenced in C; prepared snapshots are published without the lock (a version
number tells whether a mutation happened while one was being built); and the
last sender's snapshot is reused until the registry changes.
"""

import threading
import weakref
from types import MethodType

from cpython.object cimport Py_TYPE, PyObject, PyTypeObject
from cpython.weakref cimport PyWeakref_GetObject

from ._common import (
    NONE_ID,
    DeferredItem,
    REGISTRY_ATTR,
    ReceiversAttribute,
    SenderCacheAttribute,
    SenderCacheView,
    call_receivers,
    defer,
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
    /* True for an instance that uses object's own attribute lookup. */
    static inline int fastsignal_has_generic_getattro(PyObject *o) {
        return Py_TYPE(o)->tp_getattro == PyObject_GenericGetAttr;
    }
    """
    bint has_type_getattro "fastsignal_has_type_getattro"(object o)
    bint has_generic_getattro "fastsignal_has_generic_getattro"(object o)


cdef extern from *:
    """
    #include "structmember.h"

    /* ``send``/``send_robust`` are objects of this type rather than Python
       functions: a vectorcall entry point receives the caller's keyword names
       and values as they are, so a send builds no kwargs dict, and the
       receivers are called with the caller's own argument array. The type is a
       method descriptor, so ``signal.send(...)`` binds without allocating. */
    typedef PyObject *(*fastsignal_send_impl)(PyObject **args, size_t nargsf,
                                              PyObject *kwnames, int robust);

    typedef struct {
        PyObject_HEAD
        vectorcallfunc vectorcall;
        fastsignal_send_impl impl;
        int robust;
        PyObject *name;
        PyObject *doc;
    } FastSendObject;

    static PyObject *fastsend_vectorcall(PyObject *callable, PyObject *const *args,
                                         size_t nargsf, PyObject *kwnames) {
        FastSendObject *self = (FastSendObject *)callable;
        return self->impl((PyObject **)args, nargsf, kwnames, self->robust);
    }

    static PyObject *fastsend_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
        if (obj == NULL || obj == Py_None) {
            Py_INCREF(self);
            return self;
        }
        return PyMethod_New(self, obj);
    }

    static void fastsend_dealloc(FastSendObject *self) {
        Py_XDECREF(self->name);
        Py_XDECREF(self->doc);
        PyObject_Free(self);
    }

    static PyObject *fastsend_repr(FastSendObject *self) {
        return PyUnicode_FromFormat("<fastsignal compiled function %U>", self->name);
    }

    static PyMemberDef fastsend_members[] = {
        {"__name__", T_OBJECT, offsetof(FastSendObject, name), READONLY, NULL},
        {"__qualname__", T_OBJECT, offsetof(FastSendObject, name), READONLY, NULL},
        {"__doc__", T_OBJECT, offsetof(FastSendObject, doc), READONLY, NULL},
        {NULL}
    };

    static PyTypeObject FastSendType = {
        PyVarObject_HEAD_INIT(NULL, 0)
        .tp_name = "fastsignal._engine_c.send_function",
        .tp_basicsize = sizeof(FastSendObject),
        .tp_dealloc = (destructor)fastsend_dealloc,
        .tp_vectorcall_offset = offsetof(FastSendObject, vectorcall),
        .tp_repr = (reprfunc)fastsend_repr,
        .tp_call = PyVectorcall_Call,
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL
                    | Py_TPFLAGS_METHOD_DESCRIPTOR,
        .tp_members = fastsend_members,
        .tp_descr_get = fastsend_descr_get,
    };

    static PyObject *fastsignal_new_send(PyObject *name, PyObject *doc,
                                         int robust, fastsignal_send_impl impl) {
        FastSendObject *self;
        if (FastSendType.tp_dict == NULL && PyType_Ready(&FastSendType) < 0)
            return NULL;
        self = PyObject_New(FastSendObject, &FastSendType);
        if (self == NULL)
            return NULL;
        self->vectorcall = fastsend_vectorcall;
        self->impl = impl;
        self->robust = robust;
        Py_INCREF(name);
        self->name = name;
        Py_INCREF(doc);
        self->doc = doc;
        return (PyObject *)self;
    }
    """
    ctypedef object (*send_impl "fastsignal_send_impl")(
        PyObject **args, size_t nargsf, PyObject *kwnames, int robust)
    object new_send_function "fastsignal_new_send"(str name, str doc, int robust, send_impl impl)


cdef extern from "Python.h":
    PyTypeObject PyMethod_Type
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
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


cdef object _watch(object ref, object on_death):
    # The referent itself: calling a WeakMethod would build a new bound method,
    # and a weak reference to that temporary would die at once.
    referent = _ReferenceType.__call__(ref)
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
    cdef readonly bint deferred
    cdef tuple refs
    cdef Py_ssize_t seq

    def __init__(self, item, on_death=None):
        self.item = item
        self.deferred = type(item) is DeferredItem
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

    cdef readonly tuple entries
    cdef readonly tuple sync
    cdef readonly tuple async_
    cdef readonly tuple deferred

    def __init__(self, entries):
        sync = []
        async_ = []
        deferred = []
        for entry in entries:
            if (<Entry>entry).deferred:
                deferred.append(entry)
            else:
                (async_ if (<Entry>entry).is_async else sync).append(entry)
        self.entries = tuple(entries)
        self.sync = tuple(sync)
        self.async_ = tuple(async_)
        self.deferred = tuple(deferred)


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


cdef inline bint _keyed_by_address(object sender):
    """Whether ``make_id(sender)`` is ``id(sender)``, decided without an attribute lookup
    for the common senders (``None`` and classes); ``False`` when unsure."""
    if sender is None:
        return True
    if has_type_getattro(sender):
        # A class whose metaclass keeps type's attribute lookup: ``__func__``
        # could only come from the metaclass or from the class's own MRO.
        return (_PyType_Lookup(Py_TYPE(sender), <PyObject *>_FUNC_NAME) == NULL
                and _PyType_Lookup(<PyTypeObject *>sender, <PyObject *>_FUNC_NAME) == NULL)
    if has_generic_getattro(sender):  # a plain instance: the lookup raises nothing
        return not hasattr(sender, _FUNC_NAME)
    return False


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
    cdef size_t version  # bumped by every change to the indexes
    cdef PyObject *last_sender  # address only, never dereferenced
    cdef PyObject *last_type  # its type's address, never dereferenced
    cdef size_t last_version
    cdef Snapshot last_snapshot

    def __init__(self, lock):
        self.lock = lock
        self.cache_view = SenderCacheView(self)
        self.on_death = self.flag_dead
        self.list = None
        self.last_version = <size_t>-1
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
            if self.list is not None:  # otherwise the indexes are the only truth
                self._adopt(self.list)
        if self.dead:
            self.dead = False
            for entry in [e for e in self.entries.values() if not (<Entry>e).alive()]:
                self.remove((<Entry>entry).key)

    cdef inline int ensure_fresh(self) except -1:
        if self.stale():
            with self.lock:
                self.refresh()
        return 0

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

    cdef inline void _changed(self):
        """Invalidate what was prepared from the indexes; snapshots hold receivers."""
        self.version += 1
        self.last_snapshot = None

    cdef _clear_indexes(self):
        self.entries = {}
        self.any_sender = {}
        self.by_sender = {}
        self.prepared = {}
        self.any_snapshot = None
        self._changed()

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
        self._changed()
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
        self._changed()
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
        cdef size_t version = self.version
        if (<PyObject *>sender == self.last_sender and <PyObject *>Py_TYPE(sender) == self.last_type
                and version == self.last_version):
            return self.last_snapshot
        cdef bint by_address = _keyed_by_address(sender)
        snap = self._snapshot(id(sender) if by_address else make_id(sender))
        if by_address and version == self.version:
            # A sender keyed by id() gets the same answer as the last one at the
            # same address, of the same type, until the registry changes: a new
            # object there can only have receivers connected since, which bump
            # the version. (The type check keeps out bound methods and other
            # objects keyed by (self, func) that land at a reused address.)
            self.last_sender = <PyObject *>sender
            self.last_type = <PyObject *>Py_TYPE(sender)
            self.last_version = version
            self.last_snapshot = snap
        return snap

    cdef Snapshot _snapshot(self, object sender_key):
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
        own = <dict>found  # a reference of our own before anything allocates
        snap = Snapshot(_merge_by_seq(list(own.values()), list(self.any_sender.values())))
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


cdef list _pairs(tuple entries):
    """``[(receiver, ref), ...]`` of the live ``entries``: ``ref`` resolves it later."""
    cdef list pairs = []
    for entry in entries:
        receiver = (<Entry>entry).resolve()
        if receiver is not None:
            pairs.append((receiver, (<Entry>entry).target))
    return pairs


def _entry_from_foreign_item(item, on_death):
    try:
        return Entry(item, on_death)
    except (TypeError, IndexError, AttributeError):
        raise TypeError(
            "signal.receivers items must be (lookup_key, receiver_or_ref, "
            f"sender_ref, is_async) tuples, got {item!r}"
        ) from None


cdef inline Registry _registry(object signal):
    return _registry_in(signal, PyObject_GenericGetDict(signal, NULL))


cdef inline Registry _registry_in(object signal, dict state):
    """The registry of ``signal``, whose instance dict is ``state``."""
    cdef PyObject *found = PyDict_GetItem(state, _REGISTRY_ATTR)
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


cdef inline bint _live_receivers_replaced(object signal, dict state):
    """Whether ``signal._live_receivers`` is not the engine's (patched on the class or
    in the instance dict ``state``): sends must then go through it."""
    return (
        _PyType_Lookup(Py_TYPE(signal), <PyObject *>_LIVE_RECEIVERS_NAME)
        != <PyObject *>_live_receivers_function
        or PyDict_GetItem(state, _LIVE_RECEIVERS_NAME) != NULL
    )


cdef class CallPlan:
    """What a send needs to know about its caller's keyword names, worked out once
    per distinct tuple of names (a call site's names are one constant tuple)."""

    cdef tuple receiver_kwnames  # None when the caller passed ``signal=``
    cdef Py_ssize_t sender_index  # position of ``sender`` among the caller's names, or -1

    def __init__(self, tuple kwnames, bint sender_positional):
        if "self" in kwnames:  # as Python reports it for ``def send(self, sender, **named)``
            raise TypeError("send() got multiple values for argument 'self'")
        self.sender_index = kwnames.index("sender") if "sender" in kwnames else -1
        if sender_positional and self.sender_index >= 0:
            raise TypeError("send() got multiple values for argument 'sender'")
        if not sender_positional and self.sender_index < 0:
            raise TypeError("send() missing 1 required positional argument: 'sender'")
        self.receiver_kwnames = None
        if "signal" not in kwnames:
            prefix = ("signal", "sender") if sender_positional else ("signal",)
            self.receiver_kwnames = prefix + kwnames


cdef dict _plans = {}  # (kwnames, sender_positional) -> CallPlan
cdef Py_ssize_t _PLAN_CACHE_SIZE = 256
cdef tuple _last_kwnames = None  # the most recent caller's names, compared by identity
cdef bint _last_sender_positional = False
cdef CallPlan _last_plan = None


cdef CallPlan _plan(tuple kwnames, bint sender_positional):
    global _last_kwnames, _last_sender_positional, _last_plan
    if kwnames is _last_kwnames and sender_positional == _last_sender_positional:
        return _last_plan
    key = (kwnames, sender_positional)
    cdef PyObject *found = PyDict_GetItem(_plans, key)
    if found != NULL:
        plan = <CallPlan>found
    else:
        plan = CallPlan(kwnames, sender_positional)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[key] = plan
    _last_kwnames = kwnames
    _last_sender_positional = sender_positional
    _last_plan = plan
    return plan


cdef dict _named(PyObject **args, Py_ssize_t nargs, tuple kwnames):
    """The keyword arguments of a send, without ``sender``, as a dict."""
    cdef dict named = {}
    cdef Py_ssize_t i
    for i in range(len(kwnames)):
        if kwnames[i] != "sender":
            named[kwnames[i]] = <object>args[nargs + i]
    return named


cdef list _call_entries(object signal, object sender, tuple entries, bint robust,
                        PyObject **args, size_t nargsf, tuple kwnames):
    """Call each live entry with the caller's argument array and ``kwnames``."""
    # Resolve every receiver before calling the first, as Django does: one that
    # an earlier receiver lets die during this send is still called.
    cdef list responses = _resolve(entries)
    cdef size_t offset = nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET
    cdef Py_ssize_t index
    for index in range(len(responses)):
        receiver = responses[index]
        if robust:
            try:
                response = PyObject_Vectorcall(receiver, args, offset, kwnames)
            except Exception as err:
                log_robust_failure(receiver, err)
                response = err
        else:
            response = PyObject_Vectorcall(receiver, args, offset, kwnames)
        responses[index] = (receiver, response)
    return responses


cdef object _send(PyObject **args, size_t nargsf, PyObject *kwnames_ptr, int robust):
    """Body of ``send``/``send_robust``: ``args`` is ``[signal, sender?, *keyword values]``."""
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    cdef tuple kwnames = <tuple>kwnames_ptr if kwnames_ptr != NULL else _EMPTY
    if nargs != 1 and nargs != 2:
        raise TypeError(f"send() takes 2 positional arguments but {nargs} were given")
    cdef CallPlan plan = _plan(kwnames, nargs == 2)
    signal = <object>args[0]
    sender = <object>args[1] if nargs == 2 else <object>args[1 + plan.sender_index]

    cdef dict state = PyObject_GenericGetDict(signal, NULL)
    cdef Registry registry = _registry_in(signal, state)
    registry.ensure_fresh()
    if not registry.entries:
        return []
    cdef Snapshot snap = registry.snapshot(sender)
    cdef list responses
    if plan.receiver_kwnames is None or _live_receivers_replaced(signal, state):
        # The replacement decides who receives; a "signal" keyword gets Python's
        # own "multiple values" TypeError from each call.
        named = _named(args, nargs, kwnames)
        responses = send_through_live_receivers(signal, sender, named, robust)
        if snap.deferred:
            responses.extend(defer(signal, sender, named, _pairs(snap.deferred), robust))
        return responses
    responses = []
    if snap.sync:
        # args[0] is the signal and the rest are the keyword values, in the
        # order of the receivers' keyword names: call with no positionals.
        responses = _call_entries(
            signal, sender, snap.sync, robust, args, nargsf, plan.receiver_kwnames)
    if snap.async_:
        receivers = _resolve(snap.async_)
        if receivers:
            from ._async import send_async_receivers

            responses.extend(send_async_receivers(
                signal, sender, _named(args, nargs, kwnames), receivers, robust))
    if snap.deferred:
        responses.extend(defer(
            signal, sender, _named(args, nargs, kwnames), _pairs(snap.deferred), robust))
    return responses


# -- functions that serve as methods of a signal class ---------------------------------


send = new_send_function("send", """send(self, sender, **named)

Send the signal from ``sender`` to its receivers; return ``[(receiver, response), ...]``.

A receiver's exception propagates and ends the dispatch.
""", False, _send)

send_robust = new_send_function("send_robust", """send_robust(self, sender, **named)

Like ``send``, but a receiver's ``Exception`` is logged and returned as its response.
""", True, _send)


def has_listeners(self, sender=None):
    """Return whether any live receiver would receive a send from ``sender``."""
    cdef dict state = PyObject_GenericGetDict(self, NULL)
    if _live_receivers_replaced(self, state):
        sync_receivers, async_receivers = self._live_receivers(sender)
        return bool(sync_receivers or async_receivers)
    cdef Registry registry = _registry_in(self, state)
    registry.ensure_fresh()
    if not registry.entries:
        return False
    for entry in registry.snapshot(sender).entries:
        if (<Entry>entry).is_live():
            return True
    return False


def _live_receivers(self, sender):
    """Return ``(sync_receivers, async_receivers)`` that a send from ``sender`` would call."""
    return _registry(self).live_receivers(sender)


cdef object _live_receivers_function = _live_receivers


def _deferred_receivers(self, sender):
    """Return ``[(receiver, ref), ...]`` connected with ``on_commit=True`` for ``sender``."""
    cdef Registry registry = _registry(self)
    registry.ensure_fresh()
    if not registry.entries:
        return []
    return _pairs(registry.snapshot(sender).deferred)


def _clear_dead_receivers(self):
    """Drop dead receivers now. The caller holds ``self.lock``, as in Django."""
    _registry(self).refresh()


def _flag_dead_receivers(self, reference=None):
    _registry(self).dead = True


def _connect_receiver(self, lookup_key, receiver, sender, weak, is_async, on_commit=False):
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
    item = (lookup_key, receiver, sender_ref, is_async)
    entry = Entry(DeferredItem(item) if on_commit else item)
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
