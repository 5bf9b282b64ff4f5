"""Write a spec back in dbt's selection syntax: the inverse of :mod:`.parse`.

What dbt is given is written from the parsed spec, never copied from what the user typed: a
value is one argv word per union member, its criteria joined by commas, each criterion
``[@][N+][method[.arg]:]value[+N]``. Whatever the input, a word is never an option of dbt's
(it never starts with ``-``) and never more than one word, because it is built from fields
that parsing already bounded, not split out of a string again.

    >>> from dbt_assets.selection.parse import parse_union
    >>> union_words(parse_union(["orders+ tag:finance,config.materialized:table"], ["fqn", "tag", "config"]))
    ['orders+', 'tag:finance,config.materialized:table']
"""

from __future__ import annotations

from collections.abc import Callable

from dbt_assets.selection.spec import Criterion, Group


def criterion_text(criterion: Criterion) -> str:
    """One criterion as dbt reads it; its method written as it was (``orders`` stays
    ``orders``), and always when the value alone would start with ``-``."""
    prefix = "@" if criterion.childrens_parents else ""
    if criterion.parents:
        prefix += f"{criterion.parents_depth if criterion.parents_depth is not None else ''}+"
    suffix = ""
    if criterion.children:
        suffix = f"+{criterion.children_depth if criterion.children_depth is not None else ''}"
    body = criterion.value
    if criterion.method_written or body.startswith("-") or criterion.args:
        body = f"{'.'.join((criterion.method, *criterion.args))}:{body}"
    return prefix + body + suffix


Render = Callable[[Criterion], "str | None"]


def union_words(union: Group, render: Render = criterion_text) -> list[str] | None:
    """The argv words of a union of intersections (what :func:`~.parse.parse_union` makes of
    ``--select`` values): one word per member. ``render`` writes each criterion; when it
    returns None for one (it cannot be said in dbt's syntax), None."""
    words = []
    for member in union.components:
        terms = member.components if isinstance(member, Group) else (member,)
        written = []
        for term in terms:
            if not isinstance(term, Criterion):  # parse_union nests no deeper
                return None
            text = render(term)
            if text is None:
                return None
            written.append(text)
        words.append(",".join(written))
    return words
