"""Model families: one module per family, listed in registry.py."""
