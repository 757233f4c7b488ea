"""Derived models: the SELECTs in sql/models/, what each reads, and how they are materialised."""
