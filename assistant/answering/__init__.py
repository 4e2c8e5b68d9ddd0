"""Answering: retrieved chunks in, a cited and checked Answer out (synthesizers, citation check,
conflicts, confidence, source notes), and the Answerer that runs the whole answer path."""
