"""The notifier's delivery log."""
