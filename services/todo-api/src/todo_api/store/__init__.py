"""Persistence: the append-only event store (also the outbox), the todos read model, migrations."""
