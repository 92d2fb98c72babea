"""A streaming OpenAI-compatible chat completions server over a coding-agent CLI."""
