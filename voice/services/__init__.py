"""Local speech services for the voice pipeline, shaped like Pipecat's `services/<provider>/`."""
