"""Operator commands run beside the service: owners and their tokens."""
