"""Clients for each vendor's public wire API, async, with the vendor's own auth, limits and
error classes. Every connector raises `VendorError` (with a `kind`) or `UnknownOutcome`; none
returns a vendor error body to its caller."""
