"""The system under test: a reference payment-recovery engine and sync service.

It talks to the vendors only over their public wire APIs (never imports `simulators`), so it
runs unchanged against the fakes or the real vendors. See components/README.md for the contract
a replacement recovery service must meet.
"""
