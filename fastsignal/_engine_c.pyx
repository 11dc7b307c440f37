# cython: language_level=3, binding=True
"""Compiled engine. Same contract as ``_engine_py`` (whose docstring states it,
the concurrency argument included).

Differences are of mechanism only: ``send`` and ``send_robust`` are vectorcall
objects that pass the caller's own argument array to every receiver, with the
receivers' keyword names worked out once per distinct tuple of names (a call
plan); weak references are dereferenced in C; prepared snapshots are published
without the lock, in one C sequence that checks the version and stores (no
Python code runs in between, so no other thread can); and the last sender's
snapshot is kept in a memo keyed on the sender's address and the version.
"""

import threading
import weakref
from types import FunctionType, MethodType

cimport cython
from cpython.object cimport Py_TYPE, PyObject, PyTypeObject

from . import _common
from ._common import (
    NONE_ID,
    REGISTRY_ATTR,
    DeferringReceiver,
    ReceiverItem,
    ReceiversAttribute,
    SenderCacheAttribute,
    SenderCacheView,
    check_priority,
    debug_checks_enabled,
    django_settings,
    is_async_callable,
    log_robust_failure,
    make_id,
    receivers_item,
    signal_recursion_error,
)
from . import _send_frame as _frame_module


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
    /* The referent of a weak reference as a new reference, None if it died;
       NULL with an exception only if ``ref`` is not a weak reference.
       PyWeakref_GetObject is deprecated from 3.13 (a borrowed reference). */
    static inline PyObject *fastsignal_referent(PyObject *ref) {
        PyObject *obj;
    #if PY_VERSION_HEX >= 0x030D0000
        if (PyWeakref_GetRef(ref, &obj) < 0)
            return NULL;
        if (obj == NULL) {
            Py_INCREF(Py_None);
            return Py_None;
        }
        return obj;
    #else
        obj = PyWeakref_GetObject(ref);
        Py_XINCREF(obj);
        return obj;
    #endif
    }
    /* A function with no attributes in its __dict__, read without creating the dict. */
    static inline int fastsignal_plain_function(PyObject *f) {
        PyObject *dict = ((PyFunctionObject *)f)->func_dict;
        return dict == NULL || PyDict_GET_SIZE(dict) == 0;
    }
    /* Whether a function's code is a coroutine function's. */
    static inline int fastsignal_coroutine_function(PyObject *f) {
        return (((PyCodeObject *)PyFunction_GET_CODE(f))->co_flags & CO_COROUTINE) != 0;
    }
    """
    bint plain_function "fastsignal_plain_function"(object f)
    bint coroutine_function "fastsignal_coroutine_function"(object f)
    bint has_type_getattro "fastsignal_has_type_getattro"(object o)
    bint has_generic_getattro "fastsignal_has_generic_getattro"(object o)
    object referent "fastsignal_referent"(object ref)


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
        PyObject *qualname;
        PyObject *module;
        PyObject *doc;
        PyObject *text_signature;
    } FastSendObject;

    static PyObject *fastsend_vectorcall(PyObject *callable, PyObject *const *args,
                                         size_t nargsf, PyObject *kwnames) {
        FastSendObject *self = (FastSendObject *)callable;
        return self->impl((PyObject **)args, nargsf, kwnames, self->robust);
    }

    static PyObject *fastsend_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
        (void)type;
        if (obj == NULL || obj == Py_None) {
            Py_INCREF(self);
            return self;
        }
        return PyMethod_New(self, obj);
    }

    static void fastsend_dealloc(FastSendObject *self) {
        Py_XDECREF(self->name);
        Py_XDECREF(self->qualname);
        Py_XDECREF(self->module);
        Py_XDECREF(self->doc);
        Py_XDECREF(self->text_signature);
        PyObject_Free(self);
    }

    static PyObject *fastsend_repr(FastSendObject *self) {
        return PyUnicode_FromFormat("<fastsignal compiled function %U>", self->qualname);
    }

    static PyMemberDef fastsend_members[] = {
        {"__name__", T_OBJECT, offsetof(FastSendObject, name), READONLY, NULL},
        {"__qualname__", T_OBJECT, offsetof(FastSendObject, qualname), READONLY, NULL},
        {"__module__", T_OBJECT, offsetof(FastSendObject, module), READONLY, NULL},
        {"__doc__", T_OBJECT, offsetof(FastSendObject, doc), READONLY, NULL},
        {"__text_signature__", T_OBJECT, offsetof(FastSendObject, text_signature),
         READONLY, NULL},
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

    static PyObject *fastsignal_new_send(PyObject *name, PyObject *qualname,
                                         PyObject *module, PyObject *doc,
                                         PyObject *text_signature,
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
        Py_INCREF(qualname);
        self->qualname = qualname;
        Py_INCREF(module);
        self->module = module;
        Py_INCREF(doc);
        self->doc = doc;
        Py_INCREF(text_signature);
        self->text_signature = text_signature;
        return (PyObject *)self;
    }
    """
    ctypedef object (*send_impl "fastsignal_send_impl")(
        PyObject **args, size_t nargsf, PyObject *kwnames, int robust)
    object new_send_function "fastsignal_new_send"(
        str name, str qualname, str module, str doc, str text_signature,
        int robust, send_impl impl)


cdef extern from "Python.h":
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    PyObject *_PyType_Lookup(PyTypeObject *tp, PyObject *name)
    object PyObject_Vectorcall(object func, PyObject **args, size_t nargsf, object kwnames)
    size_t PY_VECTORCALL_ARGUMENTS_OFFSET
    object PyMethod_New(object func, object self)
    object PyObject_GenericGetDict(object obj, void *context)
    # Borrowed; NULL without an exception when missing (PyDict_GetItem would save and
    # restore the exception state around the lookup, at a cost).
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    list PyDict_Values(object d)
    PyObject *PyDict_SetDefault(object d, object key, object default) except NULL  # borrowed
    object PyLong_FromVoidPtr(void *p)
    void *PyMethod_GET_SELF(object method)
    void *PyMethod_GET_FUNCTION(object method)
    object PyWeakref_NewRef(object ob, object callback)


COMPILED = True

cdef enum Kind:
    STRONG = 0       # the receiver itself
    WEAK_REF = 1     # weakref.ref to the receiver
    WEAK_METHOD = 2  # weakref.WeakMethod of a plain bound method
    WEAK_OTHER = 3   # any other weak reference: resolved by calling it

cdef object _WeakMethod = weakref.WeakMethod
cdef object _ReferenceType = weakref.ReferenceType
cdef object _weakref_module = weakref
cdef object _ref_type = weakref.ref
cdef object _FunctionType = FunctionType
cdef object _none_id = NONE_ID
cdef str _REGISTRY_ATTR = REGISTRY_ATTR
cdef str _LIVE_RECEIVERS_NAME = "_live_receivers"
cdef str _FUNC_NAME = "__func__"
cdef tuple _EMPTY = ()
cdef size_t NO_VERSION = <size_t>-1  # odd, and never reached by a registry's version


cdef object _watch(object ref, object on_death):
    # The referent itself: calling a WeakMethod would build a new bound method,
    # and a weak reference to that temporary would die at once.
    if not isinstance(ref, _ReferenceType):
        raise TypeError(f"not a weak reference: {ref!r}")
    obj = referent(ref)
    if obj is None:
        return ref
    return weakref.ref(obj, on_death)


cdef class Entry:
    """One connected receiver, with everything a send needs decided in advance."""

    cdef object _item  # the ``receivers`` item: built on first use for entries connect made
    cdef readonly object key
    cdef readonly object sender_key
    cdef object target
    cdef object func_ref
    cdef object sender_ref
    cdef int kind
    cdef readonly bint is_async
    cdef readonly bint deferred
    cdef readonly object priority  # an int: higher runs first
    cdef tuple refs  # watched references of an adopted item; None for those connect made
    cdef readonly Py_ssize_t seq  # its key in the one Indexes that holds it

    def __init__(self, item, on_death=None):
        self._item = item
        if isinstance(item, ReceiverItem):
            self.deferred, self.priority = bool(item.on_commit), int(item.priority)
        else:
            self.deferred, self.priority = False, 0
        self.key = item[0]
        self.sender_key = self.key[1]
        self.target = item[1]
        if len(item) >= 4:
            sender_ref, self.is_async = item[2], bool(item[3])
        else:  # Django 5.2 layout: (lookup_key, receiver_or_ref, is_async)
            sender_ref, self.is_async = None, bool(item[2])
        self.sender_ref = sender_ref
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
        self.seq = -1

    @property
    def item(self):
        """The ``signal.receivers`` item of this receiver."""
        return self.get_item()

    cdef object get_item(self):
        """The item, built on first use for an entry that connect made.

        Built without the lock (a send that reads ``receivers`` may build it):
        whoever stores first wins, checked and stored with no Python code in
        between, so the entry has one item, whatever a finalizer run by the
        allocation builds meanwhile."""
        if self._item is not None:
            return self._item
        fields = (self.key, self.target, self.sender_ref, self.is_async)
        if self.deferred or self.priority:
            item = receivers_item(fields, self.deferred, self.priority)
        else:  # what receivers_item returns for them, without calling it
            item = fields
        if self._item is None:
            self._item = item
        return self._item

    cdef Entry copy(self):
        """A new, unindexed entry for the same item (an entry is in one ``Indexes`` only)."""
        cdef Entry clone = Entry.__new__(Entry)
        clone._item = self._item
        clone.key = self.key
        clone.sender_key = self.sender_key
        clone.target = self.target
        clone.func_ref = self.func_ref
        clone.sender_ref = self.sender_ref
        clone.kind = self.kind
        clone.is_async = self.is_async
        clone.deferred = self.deferred
        clone.priority = self.priority
        clone.refs = self.refs
        clone.seq = -1
        return clone

    cdef inline object resolve(self):
        """Return the receiver to call, or None if it has died."""
        if self.kind == STRONG:
            return self.target
        if self.kind == WEAK_OTHER:
            return self.target()
        obj = referent(self.target)
        if self.kind == WEAK_REF or obj is None:
            return obj
        func = referent(self.func_ref)
        if func is None:
            return None
        return PyMethod_New(func, obj)

    cdef inline bint is_live(self) except -1:
        if self.kind == STRONG:
            return True
        if self.kind == WEAK_OTHER:
            return self.target() is not None
        if referent(self.target) is None:
            return False
        return self.kind == WEAK_REF or referent(self.func_ref) is not None

    cdef bint alive(self) except -1:
        """Whether the receiver and the sender it was connected for are alive."""
        if self.refs is not None:  # an adopted item: its watched references
            for ref in self.refs:
                if ref() is None:
                    return False
            return True
        sender_ref = self.sender_ref
        if sender_ref is not None:
            if isinstance(sender_ref, _ReferenceType):
                if referent(sender_ref) is None:
                    return False
            elif sender_ref() is None:  # made by a replaced weakref.ref
                return False
        return self.is_live()


cdef class Snapshot:
    """The receivers of one sender, split by how a send calls them."""

    cdef readonly tuple entries
    cdef readonly tuple sync
    cdef readonly tuple async_
    cdef readonly tuple deferred

    def __init__(self, list entries):
        """``entries`` in connection order; kept in call order (see ``_call_order``)."""
        entries = _call_order(entries)
        sync = []
        async_ = []
        deferred = []
        for entry in entries:
            if (<Entry?>entry).deferred:
                deferred.append(entry)
            else:
                (async_ if (<Entry>entry).is_async else sync).append(entry)
        self.entries = tuple(entries)
        self.sync = tuple(sync)
        self.async_ = tuple(async_)
        self.deferred = tuple(deferred)


def _by_rank(Entry entry):
    """Sort key for call order: higher priority first (a stable sort keeps ``seq`` order)."""
    return -entry.priority


cdef list _call_order(list entries):
    """``entries`` (in connection order) in call order: by priority, then connection.

    Decided from the entries themselves, as in ``_engine_py``: ``Indexes.ranked``
    serves only mutations, which hold the lock.
    """
    for entry in entries:
        if (<Entry?>entry).priority:
            return sorted(entries, key=_by_rank)  # stable: connection order within a rank
    return entries


cdef list _merge_by_seq(list first, list second):
    """Merge two lists of entries, each ordered by ``seq``, into one."""
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
    """Whether ``make_id(sender)`` is ``id(sender)``, decided without running user code
    for the common senders (``None``, classes, plain instances); ``False`` when unsure."""
    if sender is None:
        return True
    if has_type_getattro(sender):
        # A class whose metaclass keeps type's attribute lookup: ``__func__``
        # could only come from the metaclass or from the class's own MRO.
        return (_PyType_Lookup(Py_TYPE(sender), <PyObject *>_FUNC_NAME) == NULL
                and _PyType_Lookup(<PyTypeObject *>sender, <PyObject *>_FUNC_NAME) == NULL)
    if has_generic_getattro(sender):
        # A plain instance: with no ``__func__`` on its type (where a
        # descriptor could run code), only its own dict can hold one.
        if _PyType_Lookup(Py_TYPE(sender), <PyObject *>_FUNC_NAME) != NULL:
            return False
        return not hasattr(sender, _FUNC_NAME)
    return False


cdef class Indexes:
    """The connected receivers of one registry, indexed for sends (see the contract)."""

    cdef dict entries  # lookup key -> Entry: the only index keyed by user objects
    cdef dict any_sender  # Entry -> Entry (keyed by identity), in seq order
    cdef dict by_sender  # sender key -> {Entry: Entry}
    cdef dict prepared  # sender key -> Snapshot
    cdef Snapshot any_snapshot
    cdef Py_ssize_t next_seq
    cdef Py_ssize_t ranked  # how many entries have a non-zero priority
    cdef bint has_dead  # built by _index_items with dead entries

    def __cinit__(self):
        self.entries = {}
        self.any_sender = {}
        self.by_sender = {}
        self.prepared = {}

    cdef bint add(self, Entry entry) except -1:
        """Index ``entry`` unless its lookup key is taken; return whether it was added."""
        # The only step that runs user code: if it raises, nothing has changed.
        if PyDict_SetDefault(self.entries, entry.key, entry) != <PyObject *>entry:
            return False
        entry.seq = self.next_seq
        self.next_seq += 1
        if entry.priority:
            self.ranked += 1
        sender_key = entry.sender_key
        if sender_key == _none_id:
            self.any_sender[entry] = entry
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = self.by_sender.get(sender_key)
            if own is None:
                own = self.by_sender[sender_key] = {}
            (<dict>own)[entry] = entry
            self.prepared.pop(sender_key, None)
        return True

    cdef Entry discard(self, key):
        """Remove and return the entry with lookup key ``key``, or ``None``."""
        # The only step that runs user code: if it raises, nothing has changed.
        cdef Entry entry = self.entries.pop(key, None)
        if entry is None:
            return None
        if entry.priority:
            self.ranked -= 1
        sender_key = entry.sender_key
        if sender_key == _none_id:
            del self.any_sender[entry]
            self.any_snapshot = None
            self.prepared.clear()
        else:
            own = <dict>self.by_sender[sender_key]
            del own[entry]
            if not own:
                del self.by_sender[sender_key]
            self.prepared.pop(sender_key, None)
        return entry


cdef class Registry:
    """Receivers of one signal: the current ``Indexes`` and what keeps them in step."""

    cdef readonly object lock
    cdef object acquire  # lock.acquire and lock.release, looked up once
    cdef object release
    cdef readonly object cache_view
    cdef readonly object on_death  # flag_dead and flag_sender_dead, bound once
    cdef readonly object on_sender_death
    cdef public bint dead
    cdef public bint dead_sender
    cdef public bint resync
    cdef object list
    cdef Py_ssize_t list_len
    cdef size_t assigned  # counts assignments of ``receivers`` and ``clear()`` calls
    cdef size_t deaths  # counts deaths reported by weak-reference callbacks
    cdef size_t version  # odd while a mutation is under way (a seqlock)
    cdef Indexes indexes
    # What a mutation under the lock let go of that may hold the last reference to a
    # receiver (replaced indexes, removed dead entries): released only once the lock is
    # (take_retired), since a finalizer it runs may connect or disconnect.
    cdef list retired
    # The memo of the last sender keyed by its address (see snapshot()).
    cdef PyObject *last_sender  # address only, never dereferenced
    cdef size_t last_version  # even when set; NO_VERSION when empty
    cdef Snapshot last_snapshot

    def __init__(self, lock):
        self.lock = lock
        self.acquire = lock.acquire
        self.release = lock.release
        self.cache_view = SenderCacheView(self)
        self.on_death = self.flag_dead
        self.on_sender_death = self.flag_sender_dead
        self.list = None
        self.indexes = Indexes()
        self.last_version = NO_VERSION

    # -- state kept in step with ``signal.receivers`` -------------------------------

    def flag_dead(self, reference=None):
        """Weakref callback of receivers: may run inside garbage collection, so only
        set a flag (and count the death)."""
        self.deaths += 1
        self.dead = True

    def flag_sender_dead(self, reference=None):
        """Weakref callback of senders (and of referents watched for assigned items)."""
        self.deaths += 1
        self.dead = True
        self.dead_sender = True

    def request_resync(self):
        self.assigned += 1
        self.resync = True

    cdef inline bint adoption_pending(self) noexcept:
        """Whether ``receivers`` was assigned or changed length since last adopted."""
        return self.resync or (
            self.list is not None and len(<list>self.list) != self.list_len)

    cdef inline bint stale(self) noexcept:
        return self.dead or self.adoption_pending()

    cdef inline bint unchanged_since(self, size_t version) noexcept:
        """Whether ``version`` (read earlier) was even and is still current: no
        mutation ran or is under way since. Callers check it and store in one C
        sequence that runs no Python code, so no other thread can interleave."""
        return version == self.version and not (version & 1)

    def refresh(self):
        """Apply pending adoption and clean-up. The caller holds the lock."""
        self._refresh_locked()

    cdef int _refresh_locked(self) except -1:
        if self.stale():
            self._begin()
            try:
                self._refresh()
            finally:
                self._end()
        return 0

    cdef Registry fresh(self):
        """The registry a read uses once ``stale()`` (see ``_engine_py``): this one,
        refreshed if the lock is free, or a view built aside for this read only
        when what is pending must be seen and the lock is busy. Never waits."""
        if self.acquire(False):
            try:
                self._refresh_locked()
            finally:
                retired = self.take_retired()
                self.release()
            retired = None
        if self.dead_sender or self.adoption_pending():
            return self._view()
        return self

    cdef Registry _view(self):
        """A registry for one read: the assigned list (or the indexes) indexed aside,
        without dead entries. Its version is odd: it publishes nothing."""
        # Only what a read uses: no lock, no bound methods (they would make a cycle).
        cdef Registry view = Registry.__new__(Registry)
        items = self.list if self.adoption_pending() else None
        if items is None:
            items = [(<Entry>e).get_item() for e in PyDict_Values(self.indexes.entries)]
        view.indexes = _index_items(list(items), self.indexes, self.on_sender_death, True)
        view.version = 1
        view.last_version = NO_VERSION
        return view

    cdef inline void _begin(self) noexcept:
        self.version += 1
        # Empty the memo, so that it keeps no receiver alive after a disconnect.
        # Invalid first: releasing the snapshot may run a finalizer that sends.
        self.last_version = NO_VERSION
        self.last_snapshot = None

    cdef inline void _end(self) noexcept:
        self.version += 1

    cdef int _retire(self, object garbage) except -1:
        if self.retired is None:
            self.retired = [garbage]
        else:
            self.retired.append(garbage)
        return 0

    cdef list take_retired(self):
        """What ``_retire`` kept, for the caller to drop after releasing the lock."""
        cdef list retired = self.retired
        self.retired = None
        return retired

    cdef int _refresh(self) except -1:
        cdef size_t assigned, deaths
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
            doomed = [e for e in self.indexes.entries.values() if not (<Entry>e).alive()]
            # A receiver connected strongly for a sender that died goes with its entry.
            self._retire(doomed)
            for entry in doomed:
                self._remove((<Entry>entry).key)
            if self.deaths == deaths:
                self.dead = self.dead_sender = False
        return 0

    cdef int _adopt(self, object items) except -1:
        """Index ``items`` aside, then make them the registry's indexes in one step."""
        cdef list adopted = list(items)
        cdef Indexes indexes = _index_items(adopted, self.indexes, self.on_sender_death, False)
        if indexes.has_dead:  # flagged first: until they are removed, sends read around them
            self.dead = self.dead_sender = True
        # Receivers the assigned list left out go with the old indexes.
        self._retire(self.indexes)
        self.indexes = indexes
        self.list_len = len(adopted)
        return 0

    def get_list(self):
        """The ``receivers`` list, built on first read and kept in step by mutations."""
        cdef size_t version = self.version
        cdef list items
        if self.list is not None:
            return self.list
        items = [(<Entry>e).get_item() for e in _call_order(PyDict_Values(self.indexes.entries))]
        # Not over a list assigned meanwhile (by a finalizer run by the build).
        if self.unchanged_since(version) and self.list is None:
            self.list = items
            self.list_len = len(items)
        return items

    def set_list(self, items):
        items = items if type(items) is list else list(items)
        # Counted before and after the store: see "The receivers list is a
        # cache too" in the contract. ``previous`` keeps the list replaced
        # alive until the assignment is whole: releasing it may run a finalizer.
        previous = self.list
        self.assigned += 1
        self.list = items
        self.resync = True
        self.assigned += 1

    # -- mutations (the caller holds the lock) --------------------------------------

    cdef int connect(self, Entry entry) except -1:
        """Index ``entry`` unless its lookup key is taken; keep the list in step."""
        cdef size_t assigned
        cdef bint in_step
        self._begin()
        try:
            self._refresh()
            items = self.list
            assigned = self.assigned
            in_step = not self.adoption_pending()  # else ``items`` is still to be adopted
            if self.indexes.add(entry) and items is not None:  # add() may run user code
                if self.assigned == assigned and in_step:
                    if self.indexes.ranked:  # call order is not connection order
                        self.list = None
                    else:
                        (<list>items).append(entry.get_item())
                        self.list_len += 1
                elif self.list is items:  # to be adopted: keep this connect in it
                    (<list>items).append(entry.get_item())
                # else a new list was assigned meanwhile: adopted next, as assigned
        finally:
            self._end()
        return 0

    cdef bint disconnect(self, key) except -1:
        """Remove the entry with ``key``; return whether there was one."""
        self._begin()
        try:
            self._refresh()
            return self._remove(key)
        finally:
            self._end()

    cdef bint _remove(self, key) except -1:
        items = self.list
        cdef size_t assigned = self.assigned
        cdef bint in_step = not self.adoption_pending()  # else ``items`` is still to be adopted
        cdef Entry entry = self.indexes.discard(key)  # may run user code
        cdef Py_ssize_t size
        if entry is None:
            return False
        if items is None:
            return True
        # An entry whose item was never built is in no list.
        item = entry._item
        if self.assigned == assigned and in_step:
            size = len(<list>items)
            if size and item is not None and (<list>items)[size - 1] is item:
                (<list>items).pop()
                self.list_len -= 1
            else:  # rebuilt on next read; removing from the middle would be O(n)
                self.list = None
        elif self.list is items and item is not None:  # to be adopted: keep this disconnect
            _remove_item(<list>items, item)
        # else a new list was assigned meanwhile: adopted next, as assigned
        return True

    # -- reading (no lock) -------------------------------------------------------------

    cdef Snapshot snapshot(self, object sender):
        """Return the ``Snapshot`` of receivers for ``sender``."""
        cdef size_t version
        cdef Snapshot snap, previous
        if not _keyed_by_address(sender):
            return self._snapshot(make_id(sender))
        version = self.version
        if <PyObject *>sender == self.last_sender and version == self.last_version:
            return self.last_snapshot
        snap = self._snapshot(id(sender))
        # ``previous`` keeps the old snapshot alive until the memo is whole:
        # releasing it may run a finalizer.
        if self.unchanged_since(version):
            previous = self.last_snapshot
            self.last_snapshot = snap
            self.last_sender = <PyObject *>sender
            self.last_version = version
        return snap

    cdef Snapshot _snapshot(self, object sender_key):
        cdef Indexes indexes = self.indexes
        cdef PyObject *found = PyDict_GetItemWithError(indexes.prepared, sender_key)
        cdef Snapshot snap
        cdef size_t version
        if found != NULL:
            return <Snapshot>found
        version = self.version
        found = PyDict_GetItemWithError(indexes.by_sender, sender_key)
        if found == NULL:
            snap = indexes.any_snapshot
            if snap is None:
                snap = Snapshot(PyDict_Values(indexes.any_sender))
                if self.unchanged_since(version):
                    indexes.any_snapshot = snap
            return snap
        own = <dict>found  # a reference of our own before anything allocates
        snap = Snapshot(_merge_by_seq(PyDict_Values(own), PyDict_Values(indexes.any_sender)))
        if self.unchanged_since(version):
            indexes.prepared[sender_key] = snap
        return snap

    def live_receivers(self, sender):
        """Return ``(sync_receivers, async_receivers)``, resolved and alive."""
        cdef Registry registry = self.fresh() if self.stale() else self
        if not registry.indexes.entries:
            return [], []
        snap = registry.snapshot(sender)
        return _resolve(snap.sync), _resolve(snap.async_)


cdef Indexes _index_items(list items, Indexes known_indexes, object on_death, bint live_only):
    """``items`` indexed in a new ``Indexes``; entries of ``known_indexes`` for the
    same items are copied, other items get entries watched by ``on_death``. With
    ``live_only``, dead entries are left out; otherwise ``has_dead`` tells if any."""
    # Entries whose item was never built are in no list, so match no item.
    cdef dict known = {id((<Entry>e)._item): e for e in PyDict_Values(known_indexes.entries)
                       if (<Entry>e)._item is not None}
    cdef Indexes indexes = Indexes()
    for item in items:
        entry = known.get(id(item))
        if entry is not None and (<Entry>entry)._item is item:
            entry = (<Entry>entry).copy()
        else:
            entry = _entry_from_foreign_item(item, on_death)
        if not (<Entry>entry).alive():
            if live_only:
                continue
            indexes.has_dead = True
        indexes.add(<Entry>entry)
    return indexes


cdef int _remove_item(list items, object item) except -1:
    """Remove ``item`` (by identity) from ``items``, if there."""
    cdef Py_ssize_t i
    for i in range(len(items)):
        if items[i] is item:
            del items[i]
            break
    return 0


cdef list _resolve(tuple entries):
    """The live receivers of ``entries``, in order."""
    # Sized in advance (the common case: every receiver alive), cut if some died.
    # Filled with None first: resolving a receiver may run Python code, which
    # may find the list (gc.get_objects()).
    cdef Py_ssize_t count = len(entries), live = 0, index
    cdef list receivers = [None] * count
    for index in range(count):
        receiver = (<Entry>entries[index]).resolve()
        if receiver is not None:
            receivers[live] = receiver
            live += 1
    if live < count:
        del receivers[live:]
    return receivers


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
    cdef PyObject *found = PyDict_GetItemWithError(state, _REGISTRY_ATTR)
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


cdef inline bint _live_receivers_replaced(object signal, dict state) except -1:
    """Whether ``signal._live_receivers`` is not the engine's (patched on the class or
    in the instance dict ``state``): sends must then go through it."""
    return (
        _PyType_Lookup(Py_TYPE(signal), <PyObject *>_LIVE_RECEIVERS_NAME)
        != <PyObject *>_live_receivers_function
        or PyDict_GetItemWithError(state, _LIVE_RECEIVERS_NAME) != NULL
    )


cdef class CallPlan:
    """What a send needs to know about its caller's keyword names, worked out once
    per distinct tuple of names (a call site's names are one constant tuple)."""

    cdef tuple kwnames  # the caller's names; held, so comparing by identity is sound
    cdef bint sender_positional
    cdef tuple receiver_kwnames  # None when the caller passed ``signal=``
    cdef Py_ssize_t sender_index  # position of ``sender`` among the caller's names, or -1

    def __init__(self, tuple kwnames, bint sender_positional, str name):
        if "self" in kwnames:  # as Python reports it for ``def send(self, sender, **named)``
            raise TypeError(f"{name}() got multiple values for argument 'self'")
        self.sender_index = kwnames.index("sender") if "sender" in kwnames else -1
        if sender_positional and self.sender_index >= 0:
            raise TypeError(f"{name}() got multiple values for argument 'sender'")
        if not sender_positional and self.sender_index < 0:
            raise TypeError(f"{name}() missing 1 required positional argument: 'sender'")
        self.kwnames = kwnames
        self.sender_positional = sender_positional
        self.receiver_kwnames = None
        if "signal" not in kwnames:
            prefix = ("signal", "sender") if sender_positional else ("signal",)
            self.receiver_kwnames = prefix + kwnames

    cdef CallPlan for_names(self, tuple kwnames):
        """This plan for ``kwnames``, a tuple equal to this plan's own."""
        cdef CallPlan plan = CallPlan.__new__(CallPlan)
        plan.kwnames = kwnames
        plan.sender_positional = self.sender_positional
        plan.receiver_kwnames = self.receiver_kwnames
        plan.sender_index = self.sender_index
        return plan


cdef dict _plans = {}  # (kwnames, sender_positional) -> CallPlan
cdef Py_ssize_t _PLAN_CACHE_SIZE = 256
# The most recent plan. Replaced in one store, so a send from a finalizer that
# releasing the previous plan runs sees a whole plan, never half of two.
cdef CallPlan _last_plan = CallPlan((), True, "send")


cdef CallPlan _plan(tuple kwnames, bint sender_positional, str name):
    global _last_plan
    cdef CallPlan plan = _last_plan
    if kwnames is plan.kwnames and sender_positional == plan.sender_positional:
        return plan
    key = (kwnames, sender_positional)
    cdef PyObject *found = PyDict_GetItemWithError(_plans, key)
    if found != NULL:
        plan = <CallPlan>found
        if plan.kwnames is not kwnames:
            # Equal names from another call site: a plan holding this caller's
            # tuple, so that its next send is recognised by identity.
            plan = plan.for_names(kwnames)
            _plans[key] = plan
    else:
        plan = CallPlan(kwnames, sender_positional, name)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[key] = plan
    _last_plan = plan
    return plan


cdef dict _named(PyObject **args, Py_ssize_t nargs, tuple kwnames, Py_ssize_t sender_index):
    """The keyword arguments of a send as a dict, without ``sender`` (at ``sender_index``,
    or -1 when it came positionally)."""
    cdef dict named = {}
    cdef Py_ssize_t i
    for i in range(len(kwnames)):
        if i != sender_index:
            named[kwnames[i]] = <object>args[nargs + i]
    return named


cdef void _defer_entries(list responses, object signal, object sender, dict named,
                         tuple entries, bint robust) except *:
    """Schedule the deferred ``entries`` and add their responses to ``responses``.

    A lone background receiver (the common case) schedules itself directly.
    """
    if len(entries) == 1:
        receiver = (<Entry>entries[0]).resolve()
        if isinstance(receiver, DeferringReceiver):
            responses.append(receiver.defer(signal, sender, named, robust))
            return
    responses.extend(_defer(signal, sender, named, _pairs(entries), robust))


cdef list _call_entries(object signal, object sender, tuple entries, bint robust,
                        PyObject **args, size_t nargsf, tuple kwnames):
    """Call each live entry with the caller's argument array and ``kwnames``."""
    # Resolve every receiver before calling the first, as Django does: one that
    # an earlier receiver lets die during this send is still called.
    cdef list responses = _resolve(entries)
    cdef size_t offset = nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET
    cdef Py_ssize_t index
    receiver = None
    if robust:
        for index in range(len(responses)):
            receiver = responses[index]
            try:
                response = PyObject_Vectorcall(receiver, args, offset, kwnames)
            except Exception as err:
                log_robust_failure(receiver, err)
                response = err
            responses[index] = (receiver, response)
        return responses
    try:  # around the loop, not each call: free on the normal path
        for index in range(len(responses)):
            receiver = responses[index]
            responses[index] = (receiver, PyObject_Vectorcall(receiver, args, offset, kwnames))
    except RecursionError as err:
        raise signal_recursion_error(err, signal, sender, receiver)
    return responses


@cython.final
@cython.freelist(8)
cdef class Delivery:
    """The call of one send's sync receivers, made from the Python frame that
    ``_send_frame`` gives the send (see there). It holds the caller's argument
    array, which lives only as long as the send: it runs once, and the send
    clears the array when the frame returns, so a delivery that outlives its
    send (a frame kept by a traceback) refuses to run."""

    cdef object signal
    cdef object sender
    cdef tuple entries
    cdef bint robust
    cdef PyObject **args
    cdef size_t nargsf
    cdef tuple kwnames


@cython.always_allow_keywords(False)  # METH_O: no argument parsing
@cython.binding(False)  # a builtin function, which the frame's call specializes for
def _run(Delivery delivery not None):
    """_run(delivery, /)
--

Run ``delivery``: what the frame of ``_send_frame`` calls."""
    cdef PyObject **args = delivery.args
    if args == NULL:
        raise RuntimeError("a send's delivery runs once, during that send")
    delivery.args = NULL
    return _call_entries(delivery.signal, delivery.sender, delivery.entries, delivery.robust,
                         args, delivery.nargsf, delivery.kwnames)


cdef object _send_frame = _frame_module.send
cdef object _send_robust_frame = _frame_module.send_robust
cdef object _run_function = _run


cdef list _deliver(object signal, object sender, tuple entries, bint robust,
                   PyObject **args, size_t nargsf, tuple kwnames):
    """``_call_entries`` from one Python frame, as Django's send calls receivers."""
    cdef Delivery delivery = Delivery.__new__(Delivery)
    delivery.signal = signal
    delivery.sender = sender
    delivery.entries = entries
    delivery.robust = robust
    delivery.args = args
    delivery.nargsf = nargsf
    delivery.kwnames = kwnames
    try:
        return (_send_robust_frame if robust else _send_frame)(_run_function, delivery)
    finally:
        delivery.args = NULL


cdef bint _observed = False  # an observer is registered (fastsignal.monitoring)


def set_observed(bint observed):
    """Route sends through ``send_through_live_receivers``, where observers see them."""
    global _observed
    _observed = observed


# The slow routes of a send, from the module above the engines (fastsignal._send_routes),
# which hands them over when it is imported: before any signal exists.
cdef object _send_live = None
cdef object _send_async = None
cdef object _defer = None


def set_routes(send_live, send_async, defer):
    """Take the slow routes of a send: through ``_live_receivers`` (observed, or replaced),
    to async receivers, and to receivers deferred to commit."""
    global _send_live, _send_async, _defer
    _send_live, _send_async, _defer = send_live, send_async, defer


def pack_instance_keys(dict named not None, dict instance_keys not None, str tag not None):
    """``(packed, others)``: ``named`` copied for a task's arguments, with each model
    instance of a class in ``instance_keys`` (class -> ``(label, primary key attname)``)
    whose primary key is an int or a str as ``{tag: "instance", "model": label,
    "pk": pk, "db": alias}``. Plain values (exactly ``None``, bools, ints, strs) stay
    as they are; ``others`` lists the keys of every other value, or is ``None``.

    Background receivers pack every send's arguments this way
    (``fastsignal._travel``); it is here, compiled, for what it costs per send.
    """
    cdef dict packed = named.copy()
    cdef list others = None
    for key, value in named.items():
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str:
            continue
        known = instance_keys.get(kind)
        if known is not None:
            pk = getattr(value, (<tuple?>known)[1])
            if type(pk) is int or type(pk) is str:
                packed[key] = {
                    tag: "instance", "model": (<tuple>known)[0], "pk": pk, "db": value._state.db}
                continue
        if others is None:
            others = []
        others.append(key)
    return packed, others


cdef str _SEND_NAME = "Signal.send"
cdef str _SEND_ROBUST_NAME = "Signal.send_robust"


cdef object _send(PyObject **args, size_t nargsf, PyObject *kwnames_ptr, int robust):
    """Body of ``send``/``send_robust``: ``args`` is ``[signal, sender?, *keyword values]``."""
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    cdef tuple kwnames = <tuple>kwnames_ptr if kwnames_ptr != NULL else _EMPTY
    cdef str name = _SEND_ROBUST_NAME if robust else _SEND_NAME
    if nargs != 1 and nargs != 2:
        raise TypeError(f"{name}() takes 2 positional arguments but {nargs} were given")
    cdef CallPlan plan = _plan(kwnames, nargs == 2, name)
    signal = <object>args[0]
    sender = <object>args[1] if nargs == 2 else <object>args[1 + plan.sender_index]

    cdef dict state = PyObject_GenericGetDict(signal, NULL)
    cdef Registry registry = _registry_in(signal, state)
    if registry.stale():
        registry = registry.fresh()
    if not registry.indexes.entries:
        return []
    cdef Snapshot snap = registry.snapshot(sender)
    cdef list responses
    if plan.receiver_kwnames is None or _observed or _live_receivers_replaced(signal, state):
        # The replacement decides who receives (and observers see each call); a
        # "signal" keyword gets Python's own "multiple values" TypeError from each call.
        named = _named(args, nargs, kwnames, plan.sender_index)
        responses = _send_live(signal, sender, named, robust)
        if snap.deferred:
            _defer_entries(responses, signal, sender, named, snap.deferred, robust)
        return responses
    if snap.sync:
        # args[0] is the signal and the rest are the keyword values, in the
        # order of the receivers' keyword names: call with no positionals.
        responses = _deliver(
            signal, sender, snap.sync, robust, args, nargsf, plan.receiver_kwnames)
    else:
        responses = []
    if snap.async_:
        receivers = _resolve(snap.async_)
        if receivers:
            responses.extend(_send_async(
                signal, sender, _named(args, nargs, kwnames, plan.sender_index),
                receivers, robust))
    if snap.deferred:
        named = _named(args, nargs, kwnames, plan.sender_index)
        _defer_entries(responses, signal, sender, named, snap.deferred, robust)
    return responses


# -- functions that serve as methods of a signal class ---------------------------------

cdef str _MODULE = __name__
cdef str _SEND_SIGNATURE = "($self, sender, **named)"

send = new_send_function("send", _SEND_NAME, _MODULE, """Send the signal from ``sender`` \
to its receivers; return ``[(receiver, response), ...]``.

A receiver's exception propagates and ends the dispatch.
""", _SEND_SIGNATURE, False, _send)

send_robust = new_send_function("send_robust", _SEND_ROBUST_NAME, _MODULE, """Like \
``send``, but a receiver's ``Exception`` is logged and returned as its response.
""", _SEND_SIGNATURE, True, _send)


def has_listeners(self, sender=None):
    """Return whether any live receiver would receive a send from ``sender``."""
    cdef dict state = PyObject_GenericGetDict(self, NULL)
    if _live_receivers_replaced(self, state):
        sync_receivers, async_receivers = self._live_receivers(sender)
        return bool(sync_receivers or async_receivers)
    cdef Registry registry = _registry_in(self, state)
    if registry.stale():
        registry = registry.fresh()
    if not registry.indexes.entries:
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
    if registry.stale():
        registry = registry.fresh()
    if not registry.indexes.entries:
        return []
    return _pairs(registry.snapshot(sender).deferred)


def _clear_dead_receivers(self):
    """Drop dead receivers now. The caller holds ``self.lock``, as in Django."""
    _registry(self).refresh()


def _flag_dead_receivers(self, reference=None):
    _registry(self).flag_sender_dead()


# -- connect and disconnect ------------------------------------------------------------

cdef str _CALLABLE_ERROR = "Signal receivers must be callable."
cdef str _KWARGS_ERROR = "Signal receivers must accept keyword arguments (**kwargs)."


cdef object _sender_key(object sender):
    """``make_id(sender)``, without running Python code for the common senders."""
    if sender is None:
        return _none_id
    if _keyed_by_address(sender):
        return PyLong_FromVoidPtr(<void *>sender)
    return make_id(sender)


cdef object _receiver_key(object receiver):
    """``make_id(receiver)``, without running Python code for functions and methods
    (a function with attributes may have been given ``__func__`` and ``__self__``)."""
    if type(receiver) is _FunctionType and plain_function(receiver):
        return PyLong_FromVoidPtr(<void *>receiver)
    if type(receiver) is MethodType:
        return (PyLong_FromVoidPtr(PyMethod_GET_SELF(receiver)),
                PyLong_FromVoidPtr(PyMethod_GET_FUNCTION(receiver)))
    return make_id(receiver)


cdef tuple _lookup_key(object receiver, object sender, object dispatch_uid):
    """``(dispatch_uid or receiver key, sender key)``, as ``Signal.connect`` keys a receiver."""
    sender_key = _sender_key(sender)
    if dispatch_uid:
        try:
            hash(dispatch_uid)
        except TypeError:
            raise TypeError(
                f"dispatch_uid must be hashable, got {type(dispatch_uid).__name__} "
                f"{dispatch_uid!r}"
            ) from None
        return (dispatch_uid, sender_key)
    return (_receiver_key(receiver), sender_key)


cdef bint _check_receiver(object receiver) except -1:
    """Validate ``receiver`` as Django's connect does; return whether it is async."""
    if not callable(receiver):
        raise TypeError(_CALLABLE_ERROR)
    if _debug_checks_enabled():
        from django.utils.inspect import func_accepts_kwargs

        if not func_accepts_kwargs(receiver):
            raise ValueError(_KWARGS_ERROR)
    # A plain function without attributes (markcoroutinefunction() sets one)
    # is async exactly when its code is a coroutine's: skip the general test.
    if type(receiver) is _FunctionType and plain_function(receiver):
        if not coroutine_function(receiver):
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


cdef dict _weakref_namespace = vars(weakref)
cdef str _REF_NAME = "ref"


cdef object _weak_reference(object obj, object callback):
    """``weakref.ref(obj, callback)``, looked up at each call as Django does (Django's
    tests mock it), made in C when it is the real one."""
    cdef PyObject *ref = PyDict_GetItemWithError(_weakref_namespace, _REF_NAME)
    if ref == <PyObject *>_ref_type:
        return PyWeakref_NewRef(obj, callback)
    return _weakref_module.ref(obj, callback)


# What debug_checks_enabled() reads (see _common): nothing until first asked,
# then whether Django is importable and, if it is, the settings' instance dict.
cdef bint _settings_known = False
cdef dict _settings_state = None  # None without Django
cdef object _settings_unconfigured = None
cdef str _WRAPPED_NAME = "_wrapped"
cdef str _DEBUG_NAME = "DEBUG"


cdef bint _debug_checks_enabled() except -1:
    """``debug_checks_enabled()``, reading in C the instance dict of Django's
    ``LazySettings`` that it reads (and the Python function when ``DEBUG`` is not
    cached there yet)."""
    global _settings_known, _settings_state, _settings_unconfigured
    cdef PyObject *found
    if not _settings_known:
        settings = django_settings()
        if settings is not None:
            from django.utils.functional import empty

            _settings_unconfigured = empty
            _settings_state = object.__getattribute__(settings, "__dict__")
        _settings_known = True
    if _settings_state is None:
        return False
    # Django caches a setting there only once configured (and empties the dict
    # whenever ``_wrapped`` is assigned), so a cached DEBUG is a configured one.
    found = PyDict_GetItemWithError(_settings_state, _DEBUG_NAME)
    if found != NULL:
        return bool(<object>found)
    found = PyDict_GetItemWithError(_settings_state, _WRAPPED_NAME)
    if found == NULL or found == <PyObject *>_settings_unconfigured:
        return False
    return debug_checks_enabled()


cdef Entry _new_entry(object lookup_key, object sender_key, object receiver, object sender,
                      bint weak, bint is_async, bint on_commit, object priority,
                      Registry registry):
    """The entry of a receiver being connected: what ``Entry(item)`` would find out,
    known here without an item (built when first needed) or watched references (its
    own weak references report to the registry)."""
    cdef Entry entry = Entry.__new__(Entry)
    target = receiver
    entry.kind = STRONG
    if weak:
        if type(receiver) is _FunctionType and plain_function(receiver):
            is_method = False  # no __self__ nor __func__: hasattr() would raise and catch
        else:
            is_method = hasattr(receiver, "__self__") and hasattr(receiver, "__func__")
        if is_method:
            target = _WeakMethod(receiver, registry.on_death)
            entry.func_ref = target._func_ref
            entry.kind = WEAK_METHOD if target._meth_type is MethodType else WEAK_OTHER
        else:
            target = _weak_reference(receiver, registry.on_death)
            entry.kind = WEAK_REF if type(target) is _ref_type else WEAK_OTHER
    if sender is not None:
        try:
            entry.sender_ref = _weak_reference(sender, registry.on_sender_death)
        except TypeError:
            pass
    entry.key = lookup_key
    entry.sender_key = sender_key
    entry.target = target
    entry.is_async = is_async
    entry.deferred = on_commit
    entry.priority = priority
    entry.seq = -1
    return entry


cdef int _connect(object signal, tuple lookup_key, object receiver, object sender, bint weak,
                  bint is_async, bint on_commit, object priority) except -1:
    cdef Registry registry = _registry(signal)
    cdef Entry entry = _new_entry(lookup_key, lookup_key[1], receiver, sender, weak, is_async,
                                  on_commit, priority, registry)
    registry.acquire()
    try:
        registry.connect(entry)
    finally:
        retired = registry.take_retired()  # dropped on return, after the release
        registry.release()
    return 0


def connect(self, receiver, sender=None, weak=True, dispatch_uid=None, on_commit=False,
            priority=0, background=False):
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
    cdef bint is_async
    cdef tuple lookup_key
    if (
        type(receiver) is _FunctionType
        and not dispatch_uid
        and plain_function(receiver)
        and not coroutine_function(receiver)
        and not _debug_checks_enabled()
    ):
        # The common case, decided as _check_receiver and _lookup_key decide it.
        is_async = False
        lookup_key = (PyLong_FromVoidPtr(<void *>receiver), _sender_key(sender))
        if type(priority) is not int:
            priority = check_priority(priority)
    else:
        is_async = _check_receiver(receiver)
        if type(priority) is not int:
            priority = check_priority(priority)
        lookup_key = _lookup_key(receiver, sender, dispatch_uid)
    if background is not False and background is not None:
        self._connect_background(lookup_key, receiver, sender, on_commit, priority, background)
        return
    _connect(self, lookup_key, receiver, sender, weak, is_async, on_commit, priority)


def disconnect(self, receiver=None, sender=None, dispatch_uid=None):
    """Disconnect a receiver; return ``True`` if one was connected.

    Identify it by ``receiver`` or by ``dispatch_uid``, with the ``sender``
    it was connected for. Weakly connected receivers need not be
    disconnected: they go when they are garbage collected.
    """
    return _disconnect(self, _lookup_key(receiver, sender, dispatch_uid))


def _connect_receiver(self, lookup_key, receiver, sender, weak, is_async, on_commit=False,
                      priority=0):
    """Register ``receiver`` under ``lookup_key`` unless the key is taken (``connect``
    has checked its arguments)."""
    _connect(self, lookup_key, receiver, sender, weak, is_async, on_commit, priority)


def _disconnect_receiver(self, lookup_key):
    """Remove the receiver registered under ``lookup_key``; return whether one was."""
    return _disconnect(self, lookup_key)


cdef inline bint _disconnect(object signal, tuple lookup_key) except -1:
    """Remove the receiver registered under ``lookup_key``; return whether one was."""
    cdef Registry registry = _registry(signal)
    registry.acquire()
    try:
        return registry.disconnect(lookup_key)
    finally:
        retired = registry.take_retired()  # dropped on return, after the release
        registry.release()


receivers = ReceiversAttribute(registry_of)
sender_receivers_cache = SenderCacheAttribute(registry_of)
