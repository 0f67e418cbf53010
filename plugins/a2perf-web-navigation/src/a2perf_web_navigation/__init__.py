"""A2Perf web navigation domain: generated multi-page websites in a real headless Chromium."""
