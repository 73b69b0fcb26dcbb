"""Built-in evaluations (each a command)."""
