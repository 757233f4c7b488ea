"""Okta to Postgres loading, free of Dagster: called by the assets, tested on their own."""
