"""Turning results into what people and programs read: text, JSON, progress."""
