"""The notifier process: consumes calendar outcomes, delivers webhooks, emits CalendarReady."""
