"""Automation: conditions -> decisions -> a plan handed to run (the tick, the loop, simulation)."""
