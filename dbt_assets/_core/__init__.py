"""Vocabularies and small utilities every layer uses: the error hierarchy, the names of
resource types, statuses and manifest sections, durations, and reading files dbt may be
writing. Imports nothing else from dbt_assets."""
