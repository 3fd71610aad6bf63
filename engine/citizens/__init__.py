"""Citizens with an account: registration confirmed by e-mail, "Laporan saya", claiming a guest complaint.

Others may import: `register`, `verify_email`, `my_complaints`, `claim`.
"""

from engine.citizens.accounts import claim, my_complaints, register, verify_email

__all__ = ["claim", "my_complaints", "register", "verify_email"]
