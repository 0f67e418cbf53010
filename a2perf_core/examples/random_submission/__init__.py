"""A minimal working submission: a seeded random policy that respects action masks."""
