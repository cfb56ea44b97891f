"""The read-only status page on a loopback port."""
