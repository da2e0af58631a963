"""Real services for tests and benchmarks: engines of their own, a TLS site server, a browser."""
