"""Live updates: open pages follow a workspace's outbox over server-sent events.

- `bus`: wakes waiting streams when an event commits (Redis pub/sub across
  processes, or polling the outbox table in the embedded default).
- `feed`: reads a workspace's outbox after a cursor, tolerant of transactions
  that commit out of id order; independent of who is listening (the agent
  inbox today, the website chat widget later).
- `sse`: the event-stream framing.
- `views`: the agent inbox's SSE endpoint, `GET /inbox/events/`.
- `conf`: tunables (settings with defaults).
"""
