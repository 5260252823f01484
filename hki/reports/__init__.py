"""Sachstandsberichte: the data for (Stichtag, Kenntnisstand), HTML and PDF."""
