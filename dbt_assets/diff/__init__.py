"""Change review: a pull request's impact on assets, owners, SLAs and data (dbt-assets diff).

    changes (what changed, in dbt's kinds) · impact (owners, exposures, SLAs, cost, deadlines)
    · review (the two together) · data + warehouse (the CI build against production)
    · render (text, markdown) · page (the report's changes)

Which assets changed is selection's state comparison (:mod:`dbt_assets.selection.changes`);
this layer only looks closer. Above ``interop``, below the API."""
