"""Pure todo rules: no I/O, no framework, so they are tested without infrastructure."""
