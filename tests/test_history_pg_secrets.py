"""Secrets of a PostgreSQL history's location are never shown (issue 32, defect 6): passwords
with @ / : ? # % & ' \\ spaces and non-ASCII letters, in both of libpq's forms (URL,
keyword/value string), as a URL parameter (``?password=``), in ``PGPASSWORD``; in
``History.path``, in every error, in ``Run N recorded in ...`` and in JSON. A password is made
of words of rare capitals joined by separators: no word may appear anywhere shown, which
also catches a fragment that a misread URL would put in a host or a database name."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from dbt_assets._core.errors import HistoryError
from dbt_assets.history.conninfo import ambiguity, is_postgres, masked, shown
from dbt_assets.history.schema import history_path
from dbt_assets.history.store import History
from tests.conftest import cli
from tests.postgres import Server

WORD = st.text("JKQVWXZ", min_size=4, max_size=8)
SEPARATORS = st.text("@/:?#%& '\\=é☃", min_size=1, max_size=3)


@st.composite
def passwords(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A password and its words (what must never be shown)."""
    words = draw(st.lists(WORD, min_size=1, max_size=4))
    separators = [draw(SEPARATORS) for _ in range(len(words) + 1)]
    keep_ends = draw(st.tuples(st.booleans(), st.booleans()))
    text = "".join(s + w for s, w in zip(separators, words, strict=False))
    text = (separators[0] if keep_ends[0] else "") + text[len(separators[0]) :]
    return text + (separators[-1] if keep_ends[1] else ""), words


def keyword_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def locations(
    password: str, host: str, port: int, user: str = "pw_user", options: str = ""
) -> dict[str, str]:
    """The password in every place libpq reads one, written as libpq wants it (and raw)."""
    encoded, base = quote(password, safe=""), f"{host}:{port}/postgres"
    query = f"options={options}&" if options else ""
    keywords = f"options={keyword_value(options.replace('%3D', '='))} " if options else ""
    return {
        "url": f"postgresql://{quote(user)}:{encoded}@{base}?{query}",
        "url parameter": f"postgresql://{quote(user)}@{base}?{query}password={encoded}",
        "keywords": f"host={host} port={port} dbname=postgres user={user} {keywords}"
        f"password={keyword_value(password)}",
        "raw url": f"postgresql://{user}:{password}@{base}?{query}",
        "raw parameter": f"postgresql://{user}@{base}?{query}password={password}",
    }


def assert_hidden(words: list[str], *texts: str) -> None:
    for text in texts:
        for word in words:
            assert word not in text, f"{word!r} shown in {text!r}"


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(secret=passwords(), also=st.sampled_from(["password", "sslpassword", "oauth_client_secret"]))
def test_a_location_is_shown_without_its_secrets(secret: tuple[str, list[str]], also: str) -> None:
    password, words = secret
    for form, location in locations(password, "db.example", 5432).items():
        assert is_postgres(location), form
        assert_hidden(words, shown(location), masked(f"could not connect: {location}", location))
        assert "***" in shown(location)
        if form in ("url", "url parameter", "keywords"):  # written as libpq wants: never refused
            assert ambiguity(location) is None, form
        if ambiguity(location) is None:
            assert "db.example" in shown(location), form
    other = f"host=db.example {also}={keyword_value(password)} dbname=postgres"
    assert_hidden(
        words, shown(other), shown(f"postgresql://db.example/postgres?{also}={quote(password, safe='')}")
    )


@pytest.mark.unit
def test_a_keyword_string_is_a_postgresql_location_not_a_file(tmp_path: Path) -> None:
    location = "host=db.example dbname=history password='s3 cr3t'"
    assert history_path(tmp_path, location) == location
    assert history_path(tmp_path, "  port = 5432") == "  port = 5432"
    assert history_path(tmp_path, "history.db") == Path("history.db")
    assert history_path(tmp_path, "./password=x.db") == Path("./password=x.db")  # a file, so written
    assert shown("host=db passwd=s3cr3t") == "host=db passwd=***"  # a misspelt option: its value hidden
    assert shown("host=db password='unterminated") == "host=db password=***"


@pytest.fixture(scope="module")
def password_server(postgres: Server) -> Server:
    """The test server, with a role (pw_user) that must give its password (scram): the
    password then has to reach libpq as written."""
    with psycopg.connect(postgres.base, autocommit=True) as admin:
        admin.execute(
            "DO $$ BEGIN CREATE ROLE dbt_assets_pw NOLOGIN; CREATE ROLE pw_user LOGIN SUPERUSER IN ROLE "
            "dbt_assets_pw; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        admin.execute("ALTER ROLE pw_user PASSWORD 'first'")
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        rule = "host all +dbt_assets_pw 127.0.0.1/32 scram-sha-256\n"
        if rule not in hba.read_text():
            hba.write_text(rule + hba.read_text())
            admin.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until the rule holds: a wrong password is refused
        try:
            psycopg.connect(f"postgresql://pw_user:wrong@127.0.0.1:{postgres.port}/postgres").close()
        except psycopg.OperationalError:
            return postgres
        time.sleep(0.1)
    raise AssertionError("the server did not take the password rule")


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=passwords())
def test_every_form_connects_with_its_password_and_shows_none(
    secret: tuple[str, list[str]], password_server: Server
) -> None:
    password, words = secret
    with psycopg.connect(password_server.base, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER ROLE pw_user PASSWORD {}").format(sql.Literal(password)))
    schema = password_server.url("pw_history").rsplit("%3D", 1)[1]
    options = f"-csearch_path%3D{schema}"
    for form, location in locations(password, "127.0.0.1", password_server.port, options=options).items():
        try:
            with History.open(location) as history:
                assert_hidden(
                    words,
                    history.path if isinstance(history.path, str) else "",
                    json.dumps([r.run_id for r in history.runs()]),
                )
                assert "127.0.0.1" in str(history.path)
        except HistoryError as exc:  # only a raw form libpq reads otherwise
            assert form.startswith("raw"), f"{form}: {exc.message}"
            assert_hidden(words, exc.message, exc.hint or "")
        wrong = location.replace(quote(password, safe=""), quote(password + "X", safe=""))
        wrong = wrong.replace(keyword_value(password), keyword_value(password + "X"))
        if wrong != location:
            with pytest.raises(HistoryError) as refused:
                History.open(wrong).close()
            assert_hidden(words, refused.value.message, refused.value.hint or "")
    with pytest.MonkeyPatch.context() as env:  # PGPASSWORD: the location holds none
        env.setenv("PGPASSWORD", password)
        plain = f"postgresql://pw_user@127.0.0.1:{password_server.port}/postgres?options={options}"
        with History.open(plain) as history:
            assert_hidden(words, str(history.path))
        env.setenv("PGPASSWORD", password + "X")
        with pytest.raises(HistoryError) as refused:
            History.open(plain).close()
        assert_hidden(words, refused.value.message, refused.value.hint or "")
        assert "password authentication failed" in refused.value.message


@pytest.mark.postgres
def test_a_run_and_its_history_show_no_password(built_project: Path, password_server: Server) -> None:
    """The user's report: a run with the password as a URL parameter said it in ``Run 5
    recorded in ...``; a keyword string became an SQLite file named after it."""
    password, words = "JQXZ@/:? #%&'\\éKVWJ", ["JQXZ", "KVWJ"]
    with psycopg.connect(password_server.base, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER ROLE pw_user PASSWORD {}").format(sql.Literal(password)))
    schema = password_server.url("pw_run").rsplit("%3D", 1)[1]
    found = locations(password, "127.0.0.1", password_server.port, options=f"-csearch_path%3D{schema}")
    project = ["--project-dir", str(built_project)]
    before = set(Path.cwd().iterdir()) | set(built_project.iterdir())
    ran = cli("run", *project, "-s", "stg_orders", "--history", found["keywords"])
    assert ran.exit_code == 0, ran.output
    assert "recorded in host=127.0.0.1" in ran.output and "password=***" in ran.output
    outputs = [ran.output]
    for form in ("url", "url parameter", "keywords"):
        env = {"DBT_ASSETS_HISTORY": found[form]}
        listed = cli("history", *project, "-o", "json", env=env)
        assert listed.exit_code == 0, listed.output
        run_id = json.loads(listed.stdout.splitlines()[0])["run_id"]
        shown_run = cli("history", "show", str(run_id), *project, "-o", "json", env=env)
        assert shown_run.exit_code == 0, shown_run.output
        status = cli("status", *project, "-s", "stg_orders", "-o", "json", env=env)
        outputs += [listed.output, shown_run.output, status.output]
    wrong = cli("history", *project, "--history", found["url parameter"].replace("JQXZ", "JQXJ"))
    assert wrong.exit_code == 2 and "password authentication failed" in wrong.stderr
    outputs.append(wrong.output)
    assert_hidden(words, *outputs)
    assert set(Path.cwd().iterdir()) | set(built_project.iterdir()) <= before | {
        built_project / ".dbt-assets"
    }
