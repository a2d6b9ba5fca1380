"""make bench: measure TaskOverflow as a client sees it, and against naive regeneration."""
