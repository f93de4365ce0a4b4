"""`make mutate`'s reading of survivors: which ones are equivalent without a written reason."""

from __future__ import annotations

import pytest

from mutation.survivors import SQL_CASE, function_of, sql_case_only


def diff(old: str, new: str) -> str:
    return f"--- a\n+++ b\n@@ -1 +1 @@\n-{old}\n+{new}\n"


@pytest.mark.parametrize(
    ("old", "new", "equivalent"),
    [
        (
            '"SELECT seq FROM events ORDER BY seq LIMIT ?"',
            '"select seq from events order by seq limit ?"',
            True,
        ),
        ('"DELETE FROM events WHERE seq = ?"', '"DELETE FROM EVENTS WHERE SEQ = ?"', True),
        # A quoted literal is data: its case matters (except to LIKE, which is not assumed).
        (
            "\"SELECT value FROM meta WHERE key = 'instance'\"",
            "\"SELECT VALUE FROM META WHERE KEY = 'INSTANCE'\"",
            False,
        ),
        ('"Content-Type"', '"content-type"', False),  # not SQL
        # The later lines of a statement split over several literals: a clause and a placeholder.
        ('"WHERE node = ? AND event_id = ?",', '"where node = ? and event_id = ?",', True),
        ('"VALUES (?, ?, ?, ?, ?)",', '"values (?, ?, ?, ?, ?)",', True),
        ('"ORDER BY start LIMIT ?",', '"order by start limit ?",', True),
        ('"Where the file is, nothing is kept"', '"where the file is, nothing is kept"', False),
        (
            '"SELECT seq FROM events LIMIT ?", (n + 1,)',
            '"SELECT seq FROM events LIMIT ?", (n + 2,)',
            False,
        ),
    ],
)
def test_a_change_of_sql_case_alone_is_equivalent(old: str, new: str, equivalent: bool) -> None:
    assert sql_case_only(diff(old, new)) is equivalent
    assert SQL_CASE.startswith("equivalent:")


def test_mutants_are_named_by_their_function() -> None:
    assert (
        function_of("edge_reporter.forwarder.xǁForwarderǁ_sleep__mutmut_26") == "Forwarder._sleep"
    )
    assert function_of("edge_reporter.outbox_file.x_salvage__mutmut_4") == "salvage"
