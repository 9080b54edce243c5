"""Microsoft 365 providers: sign-in with msal and mail (later calendar) through Microsoft Graph."""
