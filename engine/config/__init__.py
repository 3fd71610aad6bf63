"""Configuration read once per process and kept until it changes.

What a lifecycle command consults besides its own case (working-calendar days, agencies and desks,
categories, active process versions and shared decisions, webhook endpoints, the staff directory) is
loaded into an immutable `Snapshot` and reused while the one-row `config_version` token is unchanged.
Every write to those tables, through the ORM or a Core statement, replaces the token in the same
transaction, so another process sees the change at its next command. A command reads the token in a
statement it sends anyway (`TOKEN` as a scalar subquery) or with one SELECT of its own.

Others may import: `Snapshot`, `current`, `TOKEN`, `ConfigVersion`, `Staff`.
"""

from engine.config.snapshot import TOKEN, ConfigVersion, Snapshot, Staff, current

__all__ = ["TOKEN", "ConfigVersion", "Snapshot", "Staff", "current"]
