"""A minimal working submission: a seeded random policy that picks only legal actions."""
