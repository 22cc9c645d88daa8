"""Sweeps of DVC experiments."""
