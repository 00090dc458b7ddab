"""Near-duplicate detection without Django: frame hash variants, the matcher, the index."""
