"""The Postgres warehouse: one schema per tenant, DDL from sql/, COPY-based loading."""
