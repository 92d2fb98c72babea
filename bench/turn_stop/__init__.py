"""`python -m bench.turn_stop`: Smart Turn v3's verdict on spoken utterances."""
