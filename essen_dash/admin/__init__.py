"""Datenpflege: accounts and roles, the audit log, and the pages where editors upload, publish and roll back."""
