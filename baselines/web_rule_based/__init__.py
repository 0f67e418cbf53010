"""Web navigation baseline: a rule-based agent that fills the form from the profile."""
