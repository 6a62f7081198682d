"""Adversarial submissions for 01-gradient-descent (see corpus.py)."""
