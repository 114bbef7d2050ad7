"""Offline benchmark data sets."""
