"""Pact contracts between the components (consumers) and the fakes (providers).

See contracts/README.md."""
