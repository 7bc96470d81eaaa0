"""ONNX Runtime backend: the one place sessions are made (loader) and run (runner)."""
