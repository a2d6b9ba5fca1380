"""The worker process: consumes the FIFO queue of todo events and calendar requests."""
