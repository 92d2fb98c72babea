"""`python -m bench.speech_models`: the local STT and TTS models, direct and as services."""
