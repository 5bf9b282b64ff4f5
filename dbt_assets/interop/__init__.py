"""What dbt-assets hands to other tools: OpenLineage events, exports and lineage text.
Above ``sla``."""
