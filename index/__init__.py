"""Documents, passages, vectors and search. Knows nothing of chat platforms."""
