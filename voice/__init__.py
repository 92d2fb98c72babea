"""The realtime voice agent: a Pipecat pipeline and the local speech services it runs."""
