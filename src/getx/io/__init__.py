"""Readers for what users bring: genome, peaks, gene annotation, accessibility and expression."""
