"""The dbt process: the project and its profiles, starting and supervising dbt, its JSON
events and artifacts, and the runner that reports every result to a recorder. Above ``plan``."""
