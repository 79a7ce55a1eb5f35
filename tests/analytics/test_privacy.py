"""Erasure of one author everywhere, on the real ClickHouse."""

from __future__ import annotations

import pytest

from tests.analytics.seeded import seed
from tests.conftest import Stack
from veille_analytics.privacy import erase_author

pytestmark = pytest.mark.integration
CHURN_AUTHOR = "a1f3c9e07b5d4e21"  # the author of the French churn example, evidence of an alert
QUOTE = "Je pars chez la concurrence, l'appli plante encore"


def test_erasing_an_author_removes_their_mentions_and_evidence_and_nothing_else(stack: Stack) -> None:
    _, client = seed(stack.settings)
    client.command(  # the alert quotes the post, as escalation's explanations do
        "ALTER TABLE alerts UPDATE explanation_en = concat(explanation_en, ' ', {q:String}),"
        " explanation_fr = concat(explanation_fr, ' ', {q:String}) WHERE kind = 'churn_risk'",
        parameters={"q": f"“{QUOTE}”"},
        settings={"mutations_sync": 2},
    )
    total = client.query("SELECT count() FROM mentions").result_rows[0][0]
    theirs = client.query(f"SELECT count() FROM mentions WHERE author_id = '{CHURN_AUTHOR}'").result_rows[0][0]
    assert theirs >= 1

    erasure = erase_author(client, CHURN_AUTHOR)

    assert erasure.mentions == theirs and erasure.alerts_touched == 1
    assert client.query(f"SELECT count() FROM mentions WHERE author_id = '{CHURN_AUTHOR}'").result_rows == [(0,)]
    assert client.query("SELECT count() FROM mentions").result_rows == [(total - theirs,)]
    evidence = client.query("SELECT evidence_mention_ids FROM alerts FINAL WHERE kind = 'churn_risk'").result_rows
    assert evidence == [([],)]
    explained = client.query("SELECT explanation_en, explanation_fr FROM alerts FINAL WHERE kind = 'churn_risk'")
    assert all(QUOTE not in text and "“(erased)”" in text for text in explained.result_rows[0])
    assert erase_author(client, CHURN_AUTHOR).mentions == 0  # idempotent


def test_an_author_id_that_looks_like_sql_is_only_a_value(stack: Stack) -> None:
    _, client = seed(stack.settings)
    total = client.query("SELECT count() FROM mentions").result_rows[0][0]
    assert erase_author(client, "x' OR 1=1 --").mentions == 0
    assert client.query("SELECT count() FROM mentions").result_rows == [(total,)]
