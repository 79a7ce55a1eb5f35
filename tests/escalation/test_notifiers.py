"""Notifiers against real local receivers: signed webhook, Slack message, e-mail over SMTP, retries and refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from tests.escalation.helpers import T0, post, small
from tests.escalation.receivers import http_receiver, smtp_receiver
from tests.processes import free_port
from veille_contracts.codec import decode
from veille_contracts.models import Alert, AlertStatus, Audience, Polarity
from veille_contracts.settings import SettingsError, VeilleSettings
from veille_contracts.signatures import SIGNATURE_HEADER, verify
from veille_escalation.engine import Escalation
from veille_escalation.notifiers import (
    DELIVERY_HEADER,
    LATE_HEADER,
    EmailNotifier,
    Gate,
    NotifyPolicy,
    RetryPolicy,
    SlackNotifier,
    WebhookNotifier,
    deliver,
    headline,
    notifiers_from_settings,
    should_notify,
    slack_message,
)

SECRET = "webhook-secret-for-tests"
NO_WAIT = RetryPolicy(attempts=4, backoff_s=0.01, max_backoff_s=0.02)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as shared:
        yield shared


def churn_alert() -> Alert:
    mention = post(T0, author=small(7), churn=0.93, polarity=Polarity.NEGATIVE, text="Je résilie demain, fini.")
    [alert] = Escalation().observe(mention)
    return alert


async def test_the_webhook_posts_the_alert_contract_signed_with_hmac_and_a_delivery_id(
    client: httpx.AsyncClient,
) -> None:
    alert = churn_alert()
    with http_receiver() as receiver:
        outcome = await deliver(WebhookNotifier(receiver.url, SECRET, client), alert, NO_WAIT)
    assert outcome.delivered and outcome.attempts == 1
    [request] = receiver.received
    verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
    assert decode("alerts", request.body) == alert
    assert request.headers[DELIVERY_HEADER] == f"{alert.alert_id}:1"
    with pytest.raises(ValueError, match="does not match"):
        verify("another-secret", request.body, request.headers[SIGNATURE_HEADER])


async def test_a_server_error_is_retried_with_doubling_delays_until_it_passes(client: httpx.AsyncClient) -> None:
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    policy = RetryPolicy(attempts=5, backoff_s=1.0, max_backoff_s=30.0)
    with http_receiver([503, 502, 429]) as receiver:
        outcome = await deliver(WebhookNotifier(receiver.url, SECRET, client), churn_alert(), policy, sleep=record)
    assert outcome.delivered and outcome.attempts == 4
    assert waits == [1.0, 2.0, 4.0]
    assert len(receiver.received) == 4


async def test_a_refusal_is_not_retried_and_an_unreachable_receiver_gives_up_after_the_attempts(
    client: httpx.AsyncClient,
) -> None:
    with http_receiver([400]) as receiver:
        refused = await deliver(WebhookNotifier(receiver.url, SECRET, client), churn_alert(), NO_WAIT)
    assert not refused.delivered and refused.attempts == 1 and "HTTP 400" in (refused.error or "")
    closed = f"http://127.0.0.1:{free_port()}/hook"
    unreachable = await deliver(WebhookNotifier(closed, SECRET, client), churn_alert(), NO_WAIT)
    assert not unreachable.delivered and unreachable.attempts == NO_WAIT.attempts
    assert "ConnectError" in (unreachable.error or "")


async def test_slack_gets_a_message_with_severity_brand_reason_and_deadline_in_the_chosen_language(
    client: httpx.AsyncClient,
) -> None:
    alert = churn_alert()
    with http_receiver() as receiver:
        outcome = await deliver(SlackNotifier(receiver.url, "fr", client), alert, NO_WAIT)
    assert outcome.delivered
    message = json.loads(receiver.received[0].body)
    assert message["blocks"][0]["type"] == "header"
    assert f"S{alert.severity}" in message["text"] and "Banque Aurore" in message["text"]
    assert "risque de départ" in message["text"] and "À traiter avant" in message["text"]
    assert alert.explanation.text_fr in message["blocks"][1]["text"]["text"]


async def test_email_goes_to_the_audience_and_a_temporary_refusal_is_retried() -> None:
    alert = churn_alert()
    with smtp_receiver(["451 4.3.0 try again later"]) as receiver:
        notifier = EmailNotifier(
            host="127.0.0.1",
            port=receiver.port,
            sender="veille@aurore.example",
            recipients={Audience.CUSTOMER_SERVICE: ["service-client@aurore.example"]},
            language="en",
        )
        outcome = await deliver(notifier, alert, NO_WAIT)
    assert outcome.delivered and outcome.attempts == 2
    [message] = receiver.messages
    assert receiver.envelopes == [("veille@aurore.example", ["service-client@aurore.example"])]
    assert message["Subject"] == f"[veille S{alert.severity}] Banque Aurore: churn risk"
    assert message["Message-ID"] == f"<{alert.alert_id}.1@veille>"
    assert alert.explanation.text_en in message.get_content()


async def test_email_refused_for_good_is_not_retried_and_other_audiences_are_not_mailed() -> None:
    alert = churn_alert()
    with smtp_receiver(["554 5.7.1 rejected"]) as receiver:
        notifier = EmailNotifier(
            host="127.0.0.1",
            port=receiver.port,
            sender="veille@aurore.example",
            recipients={Audience.CUSTOMER_SERVICE: ["service-client@aurore.example"], Audience.HR: ["rh@x.example"]},
            language="fr",
        )
        outcome = await deliver(notifier, alert, NO_WAIT)
        hr_only = EmailNotifier("127.0.0.1", receiver.port, "v@x.example", {Audience.HR: ["rh@x.example"]}, "fr")
    assert not outcome.delivered and outcome.attempts == 1 and "SMTP 554" in (outcome.error or "")
    assert not hr_only.accepts(alert)
    assert (
        EmailNotifier("h", 25, "v@x", {Audience.CUSTOMER_SERVICE: ["a@x"]}, "fr", max_severity=0).accepts(alert)
        is False
    )


def test_people_are_told_of_open_incidents_not_of_their_own_verdicts() -> None:
    alert = churn_alert()
    assert should_notify(alert)
    assert not should_notify(alert.model_copy(update={"status": AlertStatus.ACKNOWLEDGED, "revision": 2}))


async def test_channels_come_from_settings_and_a_half_configured_channel_names_the_missing_setting(
    client: httpx.AsyncClient,
) -> None:
    assert notifiers_from_settings(VeilleSettings(), client) == []
    configured = VeilleSettings(
        notify_webhook_url="http://127.0.0.1:9/hook",
        notify_webhook_secret=SECRET,
        notify_slack_url="http://127.0.0.1:9/slack",
        notify_smtp_host="127.0.0.1",
        notify_email_to={"hr": ["rh@aurore.example"]},
    )
    assert [n.name for n in notifiers_from_settings(configured, client)] == ["webhook", "slack", "email"]
    with pytest.raises(SettingsError, match="VEILLE_NOTIFY_WEBHOOK_SECRET"):
        notifiers_from_settings(VeilleSettings(notify_webhook_url="http://127.0.0.1:9/hook"), client)
    with pytest.raises(SettingsError, match="VEILLE_NOTIFY_EMAIL_TO"):
        notifiers_from_settings(VeilleSettings(notify_smtp_host="127.0.0.1"), client)


def test_an_old_alert_is_still_sent_marked_late_unless_catch_up_is_off(client: httpx.AsyncClient) -> None:
    alert = churn_alert()
    notifier = WebhookNotifier("http://127.0.0.1:9/", SECRET, client)
    published = alert.created_at
    week_later = published + timedelta(days=7)
    assert Gate(notifier).decide(alert, published, week_later).late
    assert Gate(notifier).decide(alert, published, week_later).send
    off = Gate(notifier, NotifyPolicy(catch_up=False)).decide(alert, published, week_later)
    assert not off.send and "catch-up is off" in (off.skipped or "")
    assert not Gate(notifier).decide(alert, published, published + timedelta(minutes=5)).late


def test_one_incident_is_notified_once_per_throttle_period_unless_its_severity_rises(client: httpx.AsyncClient) -> None:
    alert = churn_alert()
    gate = Gate(WebhookNotifier("http://127.0.0.1:9/", SECRET, client), NotifyPolicy(throttle=timedelta(minutes=30)))
    now = alert.created_at
    assert gate.decide(alert, now, now).send
    gate.sent(alert, now)
    grown = alert.model_copy(update={"revision": 2})
    held = gate.decide(grown, now, now + timedelta(minutes=10))
    assert not held.send and (held.skipped or "").startswith("throttled")
    assert gate.decide(grown, now, now + timedelta(minutes=31)).send
    if alert.severity > 1:
        worse = alert.model_copy(update={"revision": 3, "severity": alert.severity - 1})
        assert gate.decide(worse, now, now + timedelta(minutes=10)).send
    acknowledged = alert.model_copy(update={"revision": 4, "status": AlertStatus.ACKNOWLEDGED})
    assert "already in the loop" in (gate.decide(acknowledged, now, now).skipped or "")


async def test_a_late_alert_says_so_in_every_channel(client: httpx.AsyncClient) -> None:
    alert = churn_alert()
    with http_receiver() as receiver:
        outcome = await deliver(WebhookNotifier(receiver.url, SECRET, client), alert, NO_WAIT, late=True)
    assert outcome.delivered
    assert receiver.received[0].headers[LATE_HEADER] == "true"
    assert headline(alert, "fr", late=True).endswith("(en retard)")
    assert not headline(alert, "en").endswith("(late)")
    assert "(late)" in slack_message(alert, "en", late=True)["text"]
    email = EmailNotifier("127.0.0.1", 25, "veille@localhost", {Audience.CUSTOMER_SERVICE: ["cs@example.org"]}, "en")
    assert str(email.message(alert, late=True)["Subject"]).endswith("(late)")
