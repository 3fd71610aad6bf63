"""Directory: who is who.

- `agencies`    the agency tree (dotted codes), desks and jurisdictions
- `users`       staff and registered reporters, password hashes
- `categories`  the topic list and each topic's usual agency
- `demo`        the demo directory of design.md (Kota Batam)
- `signin`      password sign-in: per-account throttling and lock, bounded argon2 checks
- `snapshot`    configuration a command consults (calendar days, agencies, categories, active versions,
                webhook endpoints, staff), read once per process and reloaded when the `config_version`
                token changes; every write to those tables replaces the token (`Snapshot`, `current`,
                `TOKEN`, `ConfigVersion`, `Staff`)
"""
