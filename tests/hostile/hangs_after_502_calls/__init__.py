"""infer_once answers 502 times, then sleeps past any timeout."""
