"""One exception hierarchy for everything a user can get wrong.

Every error carries a one-line ``message`` naming the bad input and a ``hint`` saying how to
fix it. The CLI prints both on one line and exits 2; the traceback only shows with ``--debug``.
"""

from __future__ import annotations


class DbtAssetsError(Exception):
    """Base class: a problem the user can fix, with a message and a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ProjectNotFoundError(DbtAssetsError):
    """No dbt_project.yml where the user pointed us."""


class ProfilesNotFoundError(DbtAssetsError):
    """No profiles.yml in any of the places dbt looks."""


class DbtNotFoundError(DbtAssetsError):
    """The dbt executable is missing."""


class DbtCommandError(DbtAssetsError):
    """dbt ran but failed (for example ``dbt parse`` on a broken project)."""


class ManifestError(DbtAssetsError):
    """The manifest is unreadable, corrupt, not a manifest, or inconsistent."""


class ManifestVersionError(ManifestError):
    """The manifest's schema version is not one dbt-assets supports."""


class AssetNotFoundError(DbtAssetsError):
    """A name that matches no asset."""


class SelectionError(DbtAssetsError):
    """A selection expression that cannot be resolved."""


class HistoryError(DbtAssetsError):
    """The run history database is missing, unreadable, not ours, or too new."""


class RunError(DbtAssetsError):
    """A run cannot start (nothing to retry, bad option combination, ...)."""


class AssetsBusyError(RunError):
    """Assets of a run are being run by another run (one run per asset at a time)."""

    def __init__(self, message: str, hint: str = "", holders: tuple[object, ...] = ()) -> None:
        super().__init__(message, hint)
        self.holders = holders
        """Who holds them: :class:`dbt_assets.history.claims.Holder` each."""


class AutomationConfigError(DbtAssetsError):
    """An automation condition that cannot be used (an unknown key, a cron that never fires)."""


class SlaConfigError(DbtAssetsError):
    """An SLA declaration that cannot be used."""


class ScheduleError(DbtAssetsError, ValueError):
    """A deadline that cannot be read (a ValueError too, so that pydantic reports it as the
    field's error)."""


class AlertError(DbtAssetsError):
    """An alert that could not be set up (a command that cannot be read, a bad URL)."""


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (line breaks included, and the
    control characters some input carries) escaped, so that an error stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
