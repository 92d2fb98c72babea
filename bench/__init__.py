"""Benchmarks: small command-line programs, one per question, each a folder run with
`python -m bench.<name>`: `server`, `voice`, `local_model`, `speech_models`, `turn_stop`.

The modules at this level are what several programs share: `stats` (percentiles and the
summary table), `report` (machine info, the JSON record, the PNG plot) and `sse_stream`
(a timed reader of a completions server's event stream).
"""
