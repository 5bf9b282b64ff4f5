"""Selections turned into exact dbt arguments: compiling, covering long selections, and
sharding a plan across workers. Above ``selection``."""
