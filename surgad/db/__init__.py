"""Data access: every SQL statement surgad runs lives in this package."""
