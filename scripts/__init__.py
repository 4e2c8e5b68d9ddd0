"""Project tooling the Makefile runs; not part of the assistant."""
