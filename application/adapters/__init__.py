"""Adapters at the edge: the event store's codec, the mailbox folder and SMTP."""
