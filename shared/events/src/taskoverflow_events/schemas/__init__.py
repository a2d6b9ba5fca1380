"""One module per event type; each class name carries its schema version."""
