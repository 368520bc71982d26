"""The recovery decision: classify a decline, then decide whether, when and where to retry.

Pure functions and frozen dataclasses only (no I/O); see POLICY.md for the rules and sources.
"""
