"""Dagster assets: what each holds and where it comes from shows in the UI."""
