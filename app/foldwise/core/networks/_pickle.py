"""A pickle module for ``torch.save`` that can store Brevitas-quantized networks.

Brevitas quantizers are dependency-injection classes made at run time (``Injector.let``): plain pickle
cannot find them by name, and looking up a ``@value`` function through its class runs the injection and
fails. This pickler stores such classes by value (metaclass, name, bases, namespace) and such functions
through the ``__dependencies__`` of the class that defines them. Brevitas's MSE range search keeps four lambdas
bound to its quantizer; they are stored as the equivalent ``functools.partial`` of the same module functions.
Everything else pickles as usual.
"""

from __future__ import annotations

import functools
import inspect
import pickle
import sys
import types
from typing import Any


def _static_lookup(module_name: str, qualname: str) -> Any:
    # getattr_static: a plain getattr on an injector class would resolve (and may fail on) a dependency.
    obj: Any = sys.modules.get(module_name)
    if obj is None:
        return None
    for part in qualname.split("."):
        try:
            obj = inspect.getattr_static(obj, part)
        except AttributeError:
            return None
    return obj


def _rebuild_class(meta: type, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
    # type.__new__ skips the injector metaclass's own __new__, which expects the original class body.
    return type.__new__(meta, name, bases, namespace)


def _dependency_function(owner: type, name: str) -> Any:
    return owner.__dependencies__[name][1]


_MSE_LAMBDAS = {"set_local_loss_mode", "set_observer_mode", "restore_observer_mode", "restore_offload_param"}


def _reduce_brevitas_mse(obj: Any) -> Any:
    """The module's own reduction with its lambdas (see ``MSE.__init__``) swapped for picklable partials."""
    from brevitas.core.stats import stats_op

    func, args, state, *rest = obj.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
    lambdas = {k for k, v in state.items() if isinstance(v, types.LambdaType) and v.__name__ == "<lambda>"}
    if lambdas != _MSE_LAMBDAS:
        return NotImplemented  # another Brevitas version: let pickle name what it cannot store
    proxy, seen = obj.proxy_forward.__self__, obj.previous_observer_mode
    state = {**state,
             "set_local_loss_mode": functools.partial(stats_op._set_local_loss_mode, proxy),
             "set_observer_mode": functools.partial(stats_op._set_observer_mode, proxy, previous_observer_mode=seen),
             "restore_observer_mode": functools.partial(stats_op._restore_observer_mode, proxy, seen),
             "restore_offload_param": functools.partial(stats_op._restore_params, proxy)}
    return (func, args, state, *rest)


class Pickler(pickle.Pickler):
    """``pickle.Pickler`` that also stores run-time-made classes and injector-bound functions."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj).__name__ == "MSE" and type(obj).__module__ == "brevitas.core.stats.stats_op":
            return _reduce_brevitas_mse(obj)
        if isinstance(obj, type):
            if type(obj) is type or _static_lookup(obj.__module__, obj.__qualname__) is obj:
                return NotImplemented
            namespace = {k: v for k, v in vars(obj).items() if k not in ("__weakref__", "__dict__")}
            return _rebuild_class, (type(obj), obj.__name__, obj.__bases__, namespace)
        if isinstance(obj, types.FunctionType):
            qualname = obj.__qualname__
            if "." not in qualname or "<locals>" in qualname:
                return NotImplemented
            if _static_lookup(obj.__module__, qualname) is obj:
                return NotImplemented
            owner_name, name = qualname.rsplit(".", 1)
            owner = _static_lookup(obj.__module__, owner_name)
            dependencies = vars(owner).get("__dependencies__") if isinstance(owner, type) else None
            if dependencies and name in dependencies and dependencies[name][1] is obj:
                return _dependency_function, (owner, name)
        return NotImplemented


# torch.save(pickle_module=...) wants a module: the stdlib pickle with this Pickler swapped in.
pickle_module = types.ModuleType("foldwise_pickle")
pickle_module.__dict__.update({k: getattr(pickle, k) for k in dir(pickle) if not k.startswith("__")})
pickle_module.Pickler = Pickler
