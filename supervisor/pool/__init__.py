"""The account pool: pool file, pool lock, leases, per-account Codex homes and credentials.

Layering: these modules do I/O for one concept each and may import ``supervisor.core`` types;
the run loop talks to the pool only through ``SessionPool`` (a ``supervisor.ports.PoolPort``).
"""
