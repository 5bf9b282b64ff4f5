"""Adapters for orchestrators, each behind an optional extra (``dbt-assets[dagster]``).

They only use :mod:`dbt_assets.api` (functions and the public types it names): the graph, the
exact compiler, runs with their events and history, and SLAs. A contract in the test command
(``lint-imports``) refuses any other import from dbt_assets here.
"""
