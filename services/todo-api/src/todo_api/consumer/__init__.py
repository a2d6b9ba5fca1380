"""The consumer process: applies calendar progress events to the job table."""
