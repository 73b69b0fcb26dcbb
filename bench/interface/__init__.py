"""The ways in: the command line and the Python API."""
