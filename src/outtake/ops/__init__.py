"""Operator tasks over a whole installation (backups)."""
