"""Fortschreibung: a plan's successor, the fate of each measure, the Abschlussbericht."""
