"""Where alerts go besides the `alerts` topic: a signed JSON webhook, a Slack-compatible webhook, e-mail.

Each notifier reads `alerts` in its own consumer group, so a channel that is
down holds back only itself. A delivery is retried with doubling delays; an
error the receiver will never accept (a 4xx, an SMTP 5xx) is not retried. An
alert that still could not be delivered goes to `alerts-dlq`, naming the
channel and the error, so it is never lost. People are told of new and grown
incidents (status open); their own verdicts are not sent back to them.

Each channel's `Gate` decides what to send: an alert older than the catch-up
age is still sent, marked late (or skipped when catch-up is off), and one
incident is notified at most once per throttle period unless its severity
rises. Every alert a channel does not send is logged with its reason and
counted (`veille.notify.skipped`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from veille_contracts.codec import encode
from veille_contracts.models import Alert, AlertStatus, Audience
from veille_contracts.settings import SettingsError, VeilleSettings
from veille_contracts.signatures import SIGNATURE_HEADER, sign

LOGGER = logging.getLogger("veille.escalation.notify")
DELIVERY_HEADER = "X-Veille-Delivery"
LATE_HEADER = "X-Veille-Late"
HTTP_TIMEOUT_S = 10.0
RETRYABLE_HTTP = frozenset({408, 425, 429})
KIND_WORDS = {
    "en": {
        "spike": "spike",
        "influential_author": "influential unhappy author",
        "churn_risk": "churn risk",
        "drift": "sentiment drift",
        "employer_brand": "employer brand",
        "advocate": "advocate to thank",
    },
    "fr": {
        "spike": "pic",
        "influential_author": "auteur influent mécontent",
        "churn_risk": "risque de départ",
        "drift": "glissement du sentiment",
        "employer_brand": "marque employeur",
        "advocate": "ambassadeur à remercier",
    },
}
SEVERITY_MARK = {1: "🔴", 2: "🟠", 3: "🟡", 4: "🔵"}


class DeliveryError(Exception):
    """A delivery that failed; `permanent` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Notifier(Protocol):
    name: str

    def accepts(self, alert: Alert) -> bool: ...

    async def send(self, alert: Alert, late: bool = False) -> None: ...


@dataclass(frozen=True)
class NotifyPolicy:
    """When an alert is late, whether late alerts are still sent, and the per-incident throttle."""

    late_after: timedelta = timedelta(hours=24)
    catch_up: bool = True
    throttle: timedelta = timedelta(minutes=30)
    remembered: int = 100_000  # incidents whose last notification is remembered, oldest out first

    @classmethod
    def from_settings(cls, settings: VeilleSettings) -> NotifyPolicy:
        return cls(
            late_after=timedelta(hours=settings.notify_late_after_hours),
            catch_up=settings.notify_catch_up,
            throttle=timedelta(minutes=settings.notify_throttle_minutes),
        )


@dataclass(frozen=True)
class Decision:
    send: bool
    late: bool = False
    skipped: str | None = None  # why it is not sent


@dataclass
class Gate:
    """One channel's choice for each alert it reads: send, send marked late, or skip with a reason."""

    notifier: Notifier
    policy: NotifyPolicy = field(default_factory=NotifyPolicy)
    last_sent: OrderedDict[str, tuple[datetime, int]] = field(default_factory=OrderedDict)

    def decide(self, alert: Alert, published: datetime, now: datetime) -> Decision:
        if not should_notify(alert):
            return Decision(False, skipped=f"status {alert.status.value}: people already in the loop")
        if not self.notifier.accepts(alert):
            return Decision(False, skipped=f"not for this channel (audience {alert.audience.value}, S{alert.severity})")
        late = now - published > self.policy.late_after
        if late and not self.policy.catch_up:
            return Decision(False, skipped=f"older than {self.policy.late_after} and catch-up is off")
        previous = self.last_sent.get(alert.alert_id)
        if previous and now - previous[0] < self.policy.throttle and alert.severity >= previous[1]:
            return Decision(False, skipped=f"throttled: incident notified less than {self.policy.throttle} ago")
        return Decision(True, late=late)

    def sent(self, alert: Alert, now: datetime) -> None:
        self.last_sent[alert.alert_id] = (now, alert.severity)
        self.last_sent.move_to_end(alert.alert_id)
        while len(self.last_sent) > self.policy.remembered:
            self.last_sent.popitem(last=False)


def should_notify(alert: Alert) -> bool:
    """New, grown or reopened incidents; acknowledgements and resolutions come from people already in the loop."""
    return alert.status is AlertStatus.OPEN


def headline(alert: Alert, language: str, late: bool = False) -> str:
    words = KIND_WORDS[language][alert.kind.value]
    update = "" if alert.revision == 1 else (" (update)" if language == "en" else " (mise à jour)")
    delay = "" if not late else (" (late)" if language == "en" else " (en retard)")
    return f"[veille S{alert.severity}] {alert.brand}: {words}{update}{delay}"


def body_text(alert: Alert, language: str) -> str:
    """The alert for a person: why, by when, and the evidence to open."""
    why = alert.explanation.text_fr if language == "fr" else alert.explanation.text_en
    labels = ("À traiter avant", "Preuves", "Alerte") if language == "fr" else ("Respond before", "Evidence", "Alert")
    deadline = alert.deadline.strftime("%Y-%m-%d %H:%M UTC")
    evidence = ", ".join(alert.evidence_mention_ids[:10])
    more = len(alert.evidence_mention_ids) - 10
    evidence += f" (+{more})" if more > 0 else ""
    return (
        f"{why}\n\n{labels[0]}: {deadline}\n{labels[1]}: {evidence}\n"
        f"{labels[2]}: {alert.alert_id} rev. {alert.revision}, {alert.audience.value}"
    )


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Delivery:
    notifier: str
    attempts: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


async def deliver(
    notifier: Notifier,
    alert: Alert,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    late: bool = False,
) -> Delivery:
    """Send one alert through one notifier, retrying what may pass later; never raises for a failed delivery."""
    for attempt in range(1, policy.attempts + 1):
        try:
            await notifier.send(alert, late)
            return Delivery(notifier.name, attempt)
        except DeliveryError as error:
            LOGGER.warning(
                "%s: alert %s rev %d, attempt %d/%d failed: %s",
                notifier.name, alert.alert_id, alert.revision, attempt, policy.attempts, error,
            )  # fmt: skip
            if error.permanent or attempt == policy.attempts:
                return Delivery(notifier.name, attempt, str(error))
            await sleep(policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns")


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = await client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
    except httpx.HTTPError as error:
        raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error
    if response.is_success:
        return
    status = response.status_code
    raise DeliveryError(
        f"HTTP {status}: {response.text[:200]}", permanent=status < 500 and status not in RETRYABLE_HTTP
    )


@dataclass
class WebhookNotifier:
    """The alert contract as JSON, signed with HMAC-SHA256; receivers deduplicate on the delivery header."""

    url: str
    secret: str
    client: httpx.AsyncClient
    name: str = "webhook"

    def accepts(self, alert: Alert) -> bool:
        return True

    async def send(self, alert: Alert, late: bool = False) -> None:
        body = encode(alert)
        headers = {SIGNATURE_HEADER: sign(self.secret, body), DELIVERY_HEADER: f"{alert.alert_id}:{alert.revision}"}
        if late:
            headers[LATE_HEADER] = "true"
        await _post(self.client, self.url, body, headers)


def slack_message(alert: Alert, language: str, late: bool = False) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message: a plain fallback text and the same in blocks."""
    title = f"{SEVERITY_MARK[alert.severity]} {headline(alert, language, late)}"
    text = body_text(alert, language)
    return {
        "text": f"{title}\n{text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
        ],
    }


@dataclass
class SlackNotifier:
    url: str
    language: str
    client: httpx.AsyncClient
    name: str = "slack"

    def accepts(self, alert: Alert) -> bool:
        return True

    async def send(self, alert: Alert, late: bool = False) -> None:
        body = json.dumps(slack_message(alert, self.language, late), ensure_ascii=False).encode()
        await _post(self.client, self.url, body, {})


@dataclass
class EmailNotifier:
    """One message per alert to the audience's recipients, for alerts at least as urgent as `max_severity`."""

    host: str
    port: int
    sender: str
    recipients: dict[Audience, list[str]]
    language: str
    max_severity: int = 4
    start_tls: bool = False
    username: str | None = None
    password: str | None = None
    name: str = "email"

    def accepts(self, alert: Alert) -> bool:
        return bool(self.recipients.get(alert.audience)) and alert.severity <= self.max_severity

    def message(self, alert: Alert, late: bool = False) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = headline(alert, self.language, late)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients[alert.audience])
        # one thread per incident in mail clients
        message["Message-ID"] = f"<{alert.alert_id}.{alert.revision}@veille>"
        if alert.revision > 1:
            message["In-Reply-To"] = message["References"] = f"<{alert.alert_id}.1@veille>"
        message.set_content(body_text(alert, self.language))
        return message

    async def send(self, alert: Alert, late: bool = False) -> None:
        try:
            await aiosmtplib.send(
                self.message(alert, late),
                hostname=self.host,
                port=self.port,
                start_tls=self.start_tls,
                username=self.username,
                password=self.password,
                timeout=HTTP_TIMEOUT_S,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"every recipient refused: {error}", permanent=True) from error
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {error.code}: {error.message}", permanent=error.code >= 500) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error


def notifiers_from_settings(settings: VeilleSettings, client: httpx.AsyncClient) -> list[Notifier]:
    """The channels configured in settings; the `alerts` topic itself is always there."""
    found: list[Notifier] = []
    if settings.notify_webhook_url:
        if settings.notify_webhook_secret is None:
            raise SettingsError("VEILLE_NOTIFY_WEBHOOK_URL is set but VEILLE_NOTIFY_WEBHOOK_SECRET is not")
        found.append(
            WebhookNotifier(str(settings.notify_webhook_url), settings.notify_webhook_secret.get_secret_value(), client)
        )
    if settings.notify_slack_url:
        found.append(SlackNotifier(str(settings.notify_slack_url), settings.notify_language, client))
    if settings.notify_smtp_host:
        if not settings.notify_email_to:
            raise SettingsError("VEILLE_NOTIFY_SMTP_HOST is set but VEILLE_NOTIFY_EMAIL_TO names no recipient")
        password = settings.notify_smtp_password.get_secret_value() if settings.notify_smtp_password else None
        found.append(
            EmailNotifier(
                host=settings.notify_smtp_host,
                port=settings.notify_smtp_port,
                sender=settings.notify_email_from,
                recipients=settings.notify_email_to,
                language=settings.notify_language,
                max_severity=settings.notify_email_max_severity,
                start_tls=settings.notify_smtp_starttls,
                username=settings.notify_smtp_user,
                password=password,
            )
        )
    return found
