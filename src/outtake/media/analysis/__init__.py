"""Footage analysis: small steps over one shared decode of a file (see analyse.analyse).

decode serves frames, pipeline runs steps over them, and each step (shots, quality, hashes)
turns what it saw into per-shot results.
"""
