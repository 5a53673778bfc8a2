"""Suggestions: tracker propagation, model predictions and rules."""
