"""infer_once ends its process with os._exit(0): no result, exit code 0."""
