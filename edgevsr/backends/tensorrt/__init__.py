"""TensorRT backend: engine provenance (engine_record), engine runner; imports TensorRT lazily."""
