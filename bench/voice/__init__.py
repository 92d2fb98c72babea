"""`python -m bench.voice`: the voice agent over its websocket, as a caller (see __main__)."""
