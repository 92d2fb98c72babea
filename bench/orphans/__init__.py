"""`python -m bench.orphans`: how soon a killed parent's children are gone."""
