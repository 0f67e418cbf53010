"""load_policy raises an exception whose message is one 200,000-character token."""
