"""Documents rendered from the engine's figures: the quarterly coordination-meeting report (PDF)."""

from api.reports.quarterly import render_pdf

__all__ = ["render_pdf"]
