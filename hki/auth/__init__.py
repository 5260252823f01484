"""Users and (later) login, roles and the audit log."""
