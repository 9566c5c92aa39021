"""The review states an analyst filters hits by: a constant of the store's, in a module that
imports nothing, so that the CLI can offer them as choices without loading SQLAlchemy."""

__all__ = ["REVIEW_STATES"]

REVIEW_STATES = ("unreviewed", "relevant", "irrelevant", "starred")
