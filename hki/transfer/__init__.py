"""Excel and CSV in and out: the template, the import of plans and status answers, exports."""
