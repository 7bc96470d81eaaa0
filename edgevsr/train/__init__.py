"""Training: stage 1 (pixel + flow) and stage 2 (spatio-temporal adversarial) for the EGVSR family."""
