"""Graph transforms: BN fusion, ONNX export, FP16 conversion and INT8 Q/DQ quantization (`edgevsr quantize`)."""
