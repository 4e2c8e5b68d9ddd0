"""Honest stand-ins for outside services, used by the tests (real servers on loopback)."""
