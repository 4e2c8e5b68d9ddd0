"""Retrieval: a question in, the chunks that answer it out (hybrid query, shaping, fusion)."""
