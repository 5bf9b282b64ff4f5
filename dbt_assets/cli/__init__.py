"""The ``dbt-assets`` command: a thin shell over :mod:`dbt_assets.api` (shared options,
renderers, one module per command group)."""
