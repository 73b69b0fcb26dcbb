"""Built-in face detectors."""
