"""`python -m bench.server`: the completions server against the CLI alone (see __main__)."""
