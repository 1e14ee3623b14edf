"""Prompts, model backends and findings."""
