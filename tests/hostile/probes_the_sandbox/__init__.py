"""load_policy probes the network and the filesystem and writes what it could do to its own directory."""
