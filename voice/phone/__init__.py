"""Phone calls: the provider's webhook, its media stream, and what a call adds to a session.

`webhook` answers `POST /` with the provider's XML, `signature` checks Twilio's signature on
it, `call` reads a stream's start and builds its serializer, `marks` tracks playback, and
`routes` puts them on the app.
"""
