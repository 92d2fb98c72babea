"""What the tests and the benchmarks both drive the project with: fakes of the CLI and of
Anthropic's API, clients that speak the voice app's protocols, and speech helpers.

Installed with the project (so an installed `bench` runs), never imported by `server` or
`voice` themselves.
"""
