"""Compute: the pipeline, executors, store, weights, faces and alignment."""
