"""Views of the project app."""
