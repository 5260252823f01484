"""Status updates: the append-only history of what was true about a measure on a date."""
