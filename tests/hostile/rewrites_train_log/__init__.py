"""infer_once overwrites the run's train_log.csv with a perfect curve (issue #13's third forgery)."""
