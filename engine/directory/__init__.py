"""Directory: who is who.

- `agencies`    the agency tree (dotted codes), desks and jurisdictions
- `users`       staff and registered reporters, password hashes
- `categories`  the topic list and each topic's usual agency
- `demo`        the demo directory of design.md (Kota Batam)
- `signin`      password sign-in: per-account throttling and lock, bounded argon2 checks
"""
