"""Channels: every way a complaint or an answer reaches Aduan, each a thin translator into engine commands.

- `clients`: service accounts of integrated agency systems (OAuth2 client credentials, agency-scoped
  officers), the hand-over of cases disposed to an `external` agency.
- `idempotency`: `Idempotency-Key` records, so a retried command answers its first result.
- `open311`: Open311 GeoReport v2 (services from categories, requests as complaints, API keys).
"""
