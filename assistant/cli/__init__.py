"""The `assistant` command: ties the core to ingest/, api/ and evals/."""

from assistant.cli.commands import main

__all__ = ["main"]
