"""Making the repository the user's own: `tabular-mlops init` (init.py) and what it changes."""
