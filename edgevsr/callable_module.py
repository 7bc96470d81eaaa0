"""Modules that can be called: ``edgevsr.upscale(...)``, ``edgevsr.quantize(...)``.

The public API names a few functions after the module or stage package that holds them. Python
sets a package's attribute to a submodule once that submodule is imported, so a plain function
``edgevsr.quantize`` would be replaced by the package ``edgevsr.quantize`` the moment anything
imports ``edgevsr.quantize.int8``. Instead the module itself is made callable (module
``__class__`` assignment, Python >= 3.5): ``edgevsr.quantize.int8`` and ``edgevsr.quantize(...)``
both work, whatever was imported first. The call target is a function of the module itself, or a
``"package.module:function"`` inside the same stage, imported on first call.
"""

from __future__ import annotations

import importlib
import sys
import types


class CallableModule(types.ModuleType):
    """A module whose call runs its entry function (named by ``__call_target__``)."""

    __call_target__: str

    def __call__(self, *args, **kwargs):
        return self.__entry__()(*args, **kwargs)

    def __entry__(self):
        module, _, name = self.__call_target__.rpartition(":")
        return getattr(importlib.import_module(module) if module else self, name)


def make_callable(module_name: str, target: str) -> None:
    """Let ``sys.modules[module_name](...)`` call ``target`` (a function name, or ``"module:function"``)."""
    mod = sys.modules[module_name]
    mod.__class__ = CallableModule
    mod.__call_target__ = target

