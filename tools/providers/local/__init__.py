"""The embedded default providers: SQLite and local folders under the data directory."""
