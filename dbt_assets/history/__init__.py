"""The run history: its schema, the store, the per-asset facts folded from results,
recovery of killed runs, and imports of dbt's artifacts. Above ``run``."""
