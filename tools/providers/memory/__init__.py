"""Memory: the store of past correspondence (words in SQLite or PostgreSQL, vectors in Chroma)."""
