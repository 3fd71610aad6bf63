"""Audit: what happened to a case, provably.

- `chain`     append-only events per case, hash-chained; verification
- `timeline`  a case's events and reads in time order, deadlines judged met or missed
- `exports`   one case's history and a period's cases as JSON/CSV
- `checkpoints`  signed chain heads kept outside the database (`aduan audit checkpoint`, `verify --checkpoints`)
"""
