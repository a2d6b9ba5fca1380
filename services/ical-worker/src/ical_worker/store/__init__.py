"""The worker's own database: a disposable projection, rebuilt from todo-api's event feed."""
