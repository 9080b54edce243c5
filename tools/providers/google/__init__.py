"""Google account providers: OAuth shared by Gmail (and later Google Calendar), and Gmail."""
