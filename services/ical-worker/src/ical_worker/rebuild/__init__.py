"""The rebuild command: drop an owner's projection and replay it from todo-api's event feed."""
