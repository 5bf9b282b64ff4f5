"""A dbt manifest decoded into records, the asset graph built from them, and the public
asset models. Above ``_core`` only."""
