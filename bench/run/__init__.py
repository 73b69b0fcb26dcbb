"""Run: requests, sources, the sweep's runner, the run record, suites."""
