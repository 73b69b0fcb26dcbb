"""Built-in evaluations: verification, identification, similarity."""
