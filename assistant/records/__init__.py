"""Records: what is kept of each exchange (turns, question log, feedback, escalations),
redacted before it is stored."""
