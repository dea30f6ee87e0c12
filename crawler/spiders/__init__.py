"""Spiders of the knowledge-base crawler."""
