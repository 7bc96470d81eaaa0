"""Upscale a video library on a Ray cluster: chunks at scene cuts, model actors, in-order stitching, a journal."""
