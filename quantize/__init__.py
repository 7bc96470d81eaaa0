"""The quantize stage: ONNX export, FP16, calibrated INT8. ``edgevsr.quantize(model, output, ...)`` calls
:func:`edgevsr.quantize.entry.quantize` (the package is callable; see :mod:`edgevsr.callable_module`)."""

from edgevsr.callable_module import make_callable

make_callable(__name__, "edgevsr.quantize.entry:quantize")
