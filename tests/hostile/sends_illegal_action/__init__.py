"""infer_once answers with an action outside the env's action space."""
