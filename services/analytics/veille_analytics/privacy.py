"""Erase one author everywhere: their mentions, and their posts as evidence and quotes on alerts.

Aggregates keep only counts of distinct mention ids per hour, brand and
category; they hold no author id and no text.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

ERASED_QUOTE = "“(erased)”"


@dataclass(frozen=True)
class Erasure:
    author_id: str
    mentions: int
    alerts_touched: int


def erase_author(client: Client, author_id: str) -> Erasure:
    """Delete the author's mentions and drop them from alert evidence; waits until done."""
    parameters = {"author": author_id}
    ids = [
        row[0]
        for row in client.query(
            "SELECT DISTINCT mention_id FROM mentions WHERE author_id = {author:String}", parameters=parameters
        ).result_rows
    ]
    touched = 0
    if ids:
        touched = int(
            client.query(
                "SELECT count() FROM alerts WHERE hasAny(evidence_mention_ids, {ids:Array(String)})",
                parameters={"ids": ids},
            ).result_rows[0][0]
        )
        # an explanation quotes its evidence between “ ”: in the alerts the author is part of, quotes go too
        client.command(
            "ALTER TABLE alerts UPDATE evidence_mention_ids = arrayFilter(x -> NOT has({ids:Array(String)}, x),"
            " evidence_mention_ids), explanation_en = replaceRegexpAll(explanation_en, '“[^”]*”', {erased:String}),"
            " explanation_fr = replaceRegexpAll(explanation_fr, '“[^”]*”', {erased:String})"
            " WHERE hasAny(evidence_mention_ids, {ids:Array(String)})",
            parameters={"ids": ids, "erased": ERASED_QUOTE},
            settings={"mutations_sync": 2},
        )
    client.command(
        "DELETE FROM mentions WHERE author_id = {author:String}",
        parameters=parameters,
        settings={"mutations_sync": 2, "lightweight_deletes_sync": 2},
    )
    return Erasure(author_id, len(ids), touched)
