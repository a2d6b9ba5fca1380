"""Webhook delivery: a queue in the database, a dispatcher with a bounded pool, and attempts that
each end by a wall-clock deadline, so a slow receiver costs only its own owner (DESIGN.md)."""
