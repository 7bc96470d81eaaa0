"""PyTorch backend: weights loaded into a VSRModel, run eagerly or compiled."""
