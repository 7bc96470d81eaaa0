"""edgevsr: real-time x4 video super-resolution from PyTorch to TensorRT."""

__version__ = "0.1.0"
