"""load_policy patches the env's class so every step returns a huge reward (issue #13's first forgery)."""
