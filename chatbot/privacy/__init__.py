"""Personal data: retention periods and their purge, a person's export and erasure."""
