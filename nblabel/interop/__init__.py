"""Bridges to other labeling tools (optional dependencies, imported on use)."""
