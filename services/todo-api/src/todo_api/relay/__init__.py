"""The relay process: moves the outbox (unpublished rows of the event store) onto the SNS topic."""
