"""TaskOverflow ical-worker: keeps its own projection of todos and renders calendars into S3."""
