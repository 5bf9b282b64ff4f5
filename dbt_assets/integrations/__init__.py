"""Adapters for orchestrators, each behind an optional extra (``dbt-assets[dagster]``).

They only call :mod:`dbt_assets.api`: the graph, the exact compiler, runs with their events
and history, and SLAs.
"""
