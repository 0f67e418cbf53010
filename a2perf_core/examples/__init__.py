"""Bundled example submissions."""
