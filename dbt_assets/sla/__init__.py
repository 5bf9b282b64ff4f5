"""SLAs: their configuration, schedules, judging against the history, explaining why an
asset is late, alerts, and the ``status:``/``sla:`` selection methods. Above ``history``."""
