"""Where a PostgreSQL history is: a connection string as psycopg takes it (libpq's), read
without ever showing its secrets.

Both of libpq's forms name a PostgreSQL database: a URL (``postgresql://user:pw@host/db``,
``?password=...`` among its parameters) and a keyword/value string
(``host=db dbname=history password='s3 cr3t'``). Wherever a location is shown (messages,
``Run N recorded in ...``, errors, ``History.path``, JSON), it is :func:`shown`: every
secret (``password``, ``sslpassword``, ``oauth_client_secret``, the SCRAM keys) as ``***``;
a driver's message passes through :func:`masked`, which also hides ``$PGPASSWORD``. A URL
libpq would read otherwise than written (a raw ``@`` or ``/`` in a password: libpq takes
part of it for the host or the database, and says so in its errors) is refused before any
connection (:func:`ambiguity`).

    >>> shown("postgresql://ci:s3cr3t@db.example/history?sslpassword=k3y")
    'postgresql://ci:***@db.example/history?sslpassword=***'
    >>> shown("host=db.example dbname=history password='s3 cr3t'")
    'host=db.example dbname=history password=***'
    >>> is_postgres("host=db.example dbname=history"), is_postgres("history.db")
    (True, False)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

SCHEMES = ("postgresql://", "postgres://")

SECRETS = frozenset(
    {"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"}
)
"""libpq's options whose values are secrets (the first three libpq itself marks so)."""

KEYWORDS = frozenset({
    "application_name", "channel_binding", "client_encoding", "connect_timeout", "dbname",
    "fallback_application_name", "gssdelegation", "gssencmode", "gsslib", "host", "hostaddr",
    "keepalives", "keepalives_count", "keepalives_idle", "keepalives_interval", "krbsrvname",
    "load_balance_hosts", "max_protocol_version", "min_protocol_version", "oauth_client_id",
    "oauth_issuer", "oauth_scope", "options", "passfile", "port", "replication", "require_auth",
    "requirepeer", "service", "ssl_max_protocol_version", "ssl_min_protocol_version", "sslcert",
    "sslcertmode", "sslcompression", "sslcrl", "sslcrldir", "sslkey", "sslkeylogfile", "sslmode",
    "sslnegotiation", "sslrootcert", "sslsni", "target_session_attrs", "tcp_user_timeout", "user",
}) | SECRETS  # fmt: skip
"""libpq's connection options (libpq 18): a location whose first word is ``<one of them>=``
is a keyword/value string (``./port=1.db`` names a file)."""

MASK = "***"
ENV_SECRETS = ("PGPASSWORD",)
"""libpq's environment variables that hold secrets: never shown either."""

_FIRST_WORD = re.compile(r"\s*([^\s=]+)\s*=")


def is_postgres(location: str | Path) -> bool:
    """Whether a history location names a PostgreSQL database (a URL or a keyword/value
    string) rather than an SQLite file."""
    if not isinstance(location, str):
        return False
    if location.startswith(SCHEMES):
        return True
    first = _FIRST_WORD.match(location)
    return first is not None and first.group(1) in KEYWORDS


def shown(location: str) -> str:
    """The location as messages show it: every secret ``***``, and the value of any option
    libpq does not know (a misspelt ``password``'s)."""
    if location.startswith(SCHEMES):
        return _shown_url(location)
    pairs, broken = _pairs(location)
    parts, end = [], 0
    for keyword, start, stop, value in pairs:
        if _hidden(keyword):
            parts += [location[end:start], MASK]
            end = stop
        elif keyword == "dbname" and is_postgres(value):  # libpq reads a connection string there too
            parts += [location[end:start], shown(value)]
            end = stop
    if broken is not None:  # not well formed: shown up to where reading stopped
        return "".join(parts) + location[end : broken[1]] + MASK
    return "".join(parts) + location[end:]


def masked(text: str, location: str) -> str:
    """``text`` (a driver's message) with every secret of ``location`` and of libpq's
    environment replaced by ``***``, as written and as decoded."""
    found = set(_secret_values(location))
    found |= {os.environ[name] for name in ENV_SECRETS if os.environ.get(name)}
    for secret in sorted(found, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def has_secret(location: str) -> bool:
    return any(_secret_values(location))


def ambiguity(location: str) -> str | None:
    """Why libpq would read this URL otherwise than it reads to a person (None: it would not):
    a raw ``@``, ``/`` or ``?`` in a password makes libpq take part of it for the host, the
    port, the database or a parameter."""
    if not location.startswith(SCHEMES):
        return None
    _, _, host, path, query = _split_url(location)
    ports = [part.rsplit("]", 1)[-1].partition(":")[2] for part in host.split(",")]
    if (
        "@" in host
        or "@" in path
        or any(port and not port.isdigit() for port in ports)
        or any(key not in KEYWORDS for key, _ in _query_pairs(query))
    ):
        return (
            "libpq would read part of it as the host, the port, the database or a parameter "
            "(an @ / ? in the password not percent-encoded?)"
        )
    return None


# --- reading both forms as libpq does ---------------------------------------------------------


def _split_url(url: str) -> tuple[str, str | None, str, str, str | None]:
    """(scheme, credentials, host part, path, query) as libpq splits a URL: the credentials
    end at the first ``@`` before any ``/``; the host part at ``/`` or ``?``."""
    scheme = next(s for s in SCHEMES if url.startswith(s))
    rest = url[len(scheme) :]
    cut = min((i for i in (rest.find("@"), rest.find("/")) if i >= 0), default=-1)
    credentials = None
    if cut >= 0 and rest[cut] == "@":
        credentials, rest = rest[:cut], rest[cut + 1 :]
    before, mark, query = rest.partition("?")
    slash = before.find("/")
    host, path = (before, "") if slash < 0 else (before[:slash], before[slash:])
    return scheme, credentials, host, path, query if mark else None


def _shown_url(url: str) -> str:
    scheme, credentials, host, path, query = _split_url(url)
    if ambiguity(url) is not None:  # all up to the last @ may be the password
        if "@" not in url[len(scheme) :]:
            return scheme + MASK
        credentials, tail = url[len(scheme) :].rsplit("@", 1)
        before, mark, query = tail.partition("?")
        user, colon, _ = credentials.partition(":")
        return f"{scheme}{user}{':' + MASK if colon else ''}@{before}{_shown_query(query) if mark else ''}"
    shown_credentials = ""
    if credentials is not None:
        user, colon, _ = credentials.partition(":")
        shown_credentials = f"{user}{':' + MASK if colon else ''}@"
    return f"{scheme}{shown_credentials}{host}{path}{'' if query is None else _shown_query(query)}"


def _hidden(keyword: str) -> bool:
    return keyword in SECRETS or keyword not in KEYWORDS


def _query_pairs(query: str | None) -> list[tuple[str, str]]:
    """A URL's parameters (libpq splits at every ``&``); a secret's value runs on over the
    pieces that are no libpq option (a raw ``&`` in a password)."""
    pairs: list[tuple[str, str]] = []
    pieces = query.split("&") if query else []
    for piece in pieces[:-1] if pieces and not pieces[-1] else pieces:  # libpq lets a last & be
        key, equal, value = piece.partition("=")
        if pairs and pairs[-1][0] in SECRETS and (not equal or unquote(key) not in KEYWORDS):
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]}&{piece}")
        else:
            pairs.append((unquote(key), value if equal else ""))
    return pairs


def _shown_query(query: str) -> str:
    """A URL's parameters: a secret's value hidden, and all of a parameter libpq does not
    know (a piece of a password, maybe)."""
    pieces = [
        MASK if key not in KEYWORDS else f"{key}={MASK if key in SECRETS else value}"
        for key, value in _query_pairs(query)
    ]
    return "?" + "&".join(pieces)


def _pairs(conninfo: str) -> tuple[list[tuple[str, int, int, str]], tuple[str, int, bool] | None]:
    """A keyword/value string's pairs as libpq reads them: (keyword, start and end of the
    value as written, the value); and, when it is not well formed, where libpq stops reading:
    the keyword it was in, the position, whether in its value."""
    pairs: list[tuple[str, int, int, str]] = []
    i, n = 0, len(conninfo)
    while True:
        while i < n and conninfo[i].isspace():
            i += 1
        if i >= n:
            return pairs, None
        key_start = i
        while i < n and conninfo[i] != "=" and not conninfo[i].isspace():
            i += 1
        keyword = conninfo[key_start:i]
        while i < n and conninfo[i].isspace():
            i += 1
        if i >= n or conninfo[i] != "=":
            return pairs, (keyword, key_start, False)
        i += 1
        while i < n and conninfo[i].isspace():
            i += 1
        start, value = i, []
        quoted = i < n and conninfo[i] == "'"
        i += quoted
        while i < n:
            char = conninfo[i]
            if char == "\\" and i + 1 < n:
                value.append(conninfo[i + 1])
                i += 2
                continue
            if (quoted and char == "'") or (not quoted and char.isspace()):
                break
            value.append(char)
            i += 1
        if quoted:
            if i >= n:
                return pairs, (keyword, start, True)  # an unterminated quote: libpq refuses it
            i += 1
        pairs.append((keyword, start, i, "".join(value)))


def _secret_values(location: str) -> list[str]:
    """Every secret of a location, as written and as libpq reads it."""
    found: list[str] = []
    if location.startswith(SCHEMES):
        scheme, credentials, _, _, query = _split_url(location)
        if ambiguity(location) is not None:  # all of it may be the password
            found.append(location[len(scheme) :].rsplit("@", 1)[0])
        if credentials is not None and ":" in credentials:
            found.append(credentials.partition(":")[2])
        found += [value for key, value in _query_pairs(query) if key in SECRETS]
        return [*found, *(unquote(value) for value in found)]
    pairs, broken = _pairs(location)
    for keyword, start, stop, value in pairs:
        if keyword in SECRETS:
            found += [value, location[start:stop]]
        elif keyword == "dbname" and is_postgres(value):
            found += _secret_values(value)
    if broken is not None and broken[2] and broken[0] in SECRETS:
        found += [location[broken[1] :], location[broken[1] + 1 :]]
    return found
