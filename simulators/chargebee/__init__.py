"""The fake Chargebee (API v2): see README.md."""
