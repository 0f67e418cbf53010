"""``from a2perf.domains import web_navigation`` (or the other two) registers the domain's env ids."""
