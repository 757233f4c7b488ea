"""Read-only access to Okta's management API."""
