"""infer_once rewrites the harness's latency record to fake tiny latencies (issue #13's second forgery)."""
