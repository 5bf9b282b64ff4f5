"""Change review: a pull request's impact on assets, owners, SLAs and data (dbt-assets diff)."""
