"""Built-in readers of benchmark files and pair lists."""
