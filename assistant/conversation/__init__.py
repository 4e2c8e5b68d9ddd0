"""Conversation: sessions, follow-ups made standalone, small talk and requests for a person."""
