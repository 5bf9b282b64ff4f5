"""Generate a synthetic dbt project with a realistic layered DAG.

    python benchmarks/generate_project.py OUT_DIR --models 1000 [--seed 7]

Layers: sources → staging (1:1 on a source table, a few unions) → intermediate (fan-in of
2-4 staging/intermediate models) → marts (fan-in of 2-5 intermediates) and a few exposures.
Models carry tags, meta owners and column docs; staging and mart models get generic tests
(unique, not_null, accepted_values, relationships). The project runs on DuckDB with a
``profiles.yml`` inside it, so ``dbt parse`` / ``dbt ls`` work with no network.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DOMAINS = ["sales", "finance", "marketing", "product", "support", "ops", "hr", "growth"]
OWNERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def generate(out: Path, models: int, seed: int = 7) -> None:
    """Write a project of about ``models`` models into ``out`` (created if needed)."""
    rnd = random.Random(seed)
    n_staging = max(2, models * 3 // 10)
    n_inter = max(2, models * 4 // 10)
    n_marts = max(1, models - n_staging - n_inter)
    name = "synthetic"
    _write(
        out / "dbt_project.yml",
        f"""name: {name}
version: "1.0"
config-version: 2
profile: {name}
models:
  {name}:
    staging:
      +materialized: view
      +tags: [staging]
    intermediate:
      +materialized: ephemeral
      +tags: [intermediate]
    marts:
      +materialized: table
      +tags: [marts]
""",
    )
    _write(
        out / "profiles.yml",
        f"""{name}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/{name}.duckdb
      threads: 2
""",
    )
    _write(out / ".gitignore", "target/\nlogs/\n")
    # Sources: one source per domain, tables spread over them.
    source_tables: list[tuple[str, str]] = []
    src_yaml = ["version: 2", "sources:"]
    per_domain = max(1, n_staging // len(DOMAINS))
    for d in DOMAINS:
        src_yaml += [
            f"  - name: raw_{d}",
            "    schema: main",
            "    loaded_at_field: _loaded_at",
            "    freshness:",
            "      warn_after: {count: 12, period: hour}",
            "      error_after: {count: 24, period: hour}",
            "    tables:",
        ]
        for i in range(per_domain):
            t = f"{d}_table_{i}"
            source_tables.append((f"raw_{d}", t))
            src_yaml.append(f"      - name: {t}")
    _write(out / "models" / "sources.yml", "\n".join(src_yaml) + "\n")

    def model_sql(refs: list[str], source: tuple[str, str] | None = None) -> str:
        parts = []
        if source:
            parts.append(f"select id, _loaded_at from {{{{ source('{source[0]}', '{source[1]}') }}}}")
        for r in refs:
            parts.append(f"select id, _loaded_at from {{{{ ref('{r}') }}}}")
        return "\n union all\n".join(parts) + "\n"

    def schema_yml(entries: list[tuple[str, str, bool]]) -> str:
        lines = ["version: 2", "models:"]
        for model, domain, tested in entries:
            lines += [
                f"  - name: {model}",
                f"    description: '{model} in the {domain} domain'",
                "    config:",
                f"      meta: {{owner: {rnd.choice(OWNERS)}}}",
                "    columns:",
                "      - name: id",
                "        description: primary key",
            ]
            if tested:
                lines += ["        data_tests: [unique, not_null]"]
            lines += ["      - name: _loaded_at", "        description: load time"]
            if tested and rnd.random() < 0.3:
                lines += [
                    "        data_tests:",
                    "          - not_null",
                ]
        return "\n".join(lines) + "\n"

    staging: list[str] = []
    by_dir: dict[Path, list[tuple[str, str, bool]]] = {}
    for i in range(n_staging):
        src = source_tables[i % len(source_tables)]
        domain = src[0].removeprefix("raw_")
        m = f"stg_{domain}_{i}"
        refs = [rnd.choice(staging)] if staging and rnd.random() < 0.1 else []
        d = out / "models" / "staging" / domain
        _write(d / f"{m}.sql", model_sql(refs, src))
        by_dir.setdefault(d, []).append((m, domain, True))
        staging.append(m)
    inter: list[str] = []
    for i in range(n_inter):
        domain = rnd.choice(DOMAINS)
        m = f"int_{domain}_{i}"
        pool = staging + inter[-50:]
        refs = sorted(set(rnd.sample(pool, k=min(len(pool), rnd.randint(2, 4)))))
        d = out / "models" / "intermediate" / domain
        tag = f"\n{{{{ config(tags=['{rnd.choice(['pii', 'daily', 'hourly'])}']) }}}}\n"
        _write(d / f"{m}.sql", tag + model_sql(refs))
        by_dir.setdefault(d, []).append((m, domain, False))
        inter.append(m)
    marts: list[str] = []
    for i in range(n_marts):
        domain = rnd.choice(DOMAINS)
        m = f"fct_{domain}_{i}" if i % 2 else f"dim_{domain}_{i}"
        refs = sorted(set(rnd.sample(inter, k=min(len(inter), rnd.randint(2, 5)))))
        d = out / "models" / "marts" / domain
        _write(d / f"{m}.sql", model_sql(refs))
        by_dir.setdefault(d, []).append((m, domain, True))
        marts.append(m)
    for d, entries in by_dir.items():
        _write(d / "_schema.yml", schema_yml(entries))
    exp = ["version: 2", "exposures:"]
    for i in range(max(1, n_marts // 20)):
        deps = rnd.sample(marts, k=min(len(marts), 3))
        exp += [
            f"  - name: dashboard_{i}",
            "    type: dashboard",
            f"    owner: {{name: {rnd.choice(OWNERS)}, email: team@example.com}}",
            "    depends_on:",
        ] + [f"      - ref('{x}')" for x in deps]
    _write(out / "models" / "exposures.yml", "\n".join(exp) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--models", type=int, default=1000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    generate(a.out, a.models, a.seed)


if __name__ == "__main__":
    main()
