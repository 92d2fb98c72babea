"""Call records: each call's transcript and per-turn latency, stored as the call goes
(`store`, `schema`), written by a recorder in the session's pipeline (`recorder`), served
by an API and a page (`api`)."""
