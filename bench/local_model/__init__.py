"""`python -m bench.local_model`: the local CLI's model, cold against warm (see __main__)."""
