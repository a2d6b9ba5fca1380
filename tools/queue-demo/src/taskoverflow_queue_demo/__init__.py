"""The queue demo: see for yourself how a standard SQS queue and a FIFO queue differ."""
