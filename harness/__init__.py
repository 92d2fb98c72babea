"""What the tests and the benchmarks both drive the project with: fakes of the CLI and of
Anthropic's API, a client that speaks the voice app's websocket protocol, speech helpers,
the voice-app launcher and a look at the process table.

Installed with the project (so an installed `bench` runs), never imported by `server` or
`voice` themselves.
"""
