"""What INT8 calibration needs: calibration-data readers, range calibrators and the TensorRT calibration cache."""
