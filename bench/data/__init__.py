"""Data in: datasets, readers' shared parts, images, templates, safe unpickling."""
