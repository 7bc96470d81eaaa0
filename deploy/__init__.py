"""TensorRT engine building, provenance and profiling (`edgevsr build`, `edgevsr profile`)."""
