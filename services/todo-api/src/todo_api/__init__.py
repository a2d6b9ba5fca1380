"""TaskOverflow todo-api: the todo event store, its read model, the REST API, the outbox relay."""
