"""TaskOverflow notifier: tells the outside world a calendar is ready, then says so on the bus."""
