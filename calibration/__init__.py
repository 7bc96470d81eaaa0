"""Accuracy side of the pipeline: quality metrics, evaluation and calibration data."""
