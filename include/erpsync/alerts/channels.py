"""Where alerts go: Slack (an incoming webhook) and e-mail (SMTP), through the Slack and SMTP providers'
notifiers, each configured by an Airflow Connection. A channel without its Connection is not configured
and is skipped (with a warning). A channel whose Connection exists but cannot be read (a secrets backend
down, malformed JSON in an ``AIRFLOW_CONN_*`` variable, e-mail without recipients) or that fails to send
is an error: the alert still goes to every other channel, then :class:`AlertDeliveryError` names the
broken channel and what to fix, so that the task that alerted fails where the data team sees it.
Airflow reports a Connection it cannot read as not defined, so a channel counts as broken when its
Connection is not found although the environment defines it (``AIRFLOW_CONN_<ID>``) or the Variable
``erpsync_alerts`` lists it in ``channels`` (the channels the team relies on, wherever their
Connections live).

- ``alerts_slack``: type *Slack Incoming Webhook*; Password = the webhook URL (or Host + token).
- ``alerts_email``: type *SMTP*; Host, Port, Login/Password; Extra ``{"to": ["data-team@example.com"],
  "from_email": "erpsync@example.com"}`` (plus the SMTP provider's own options, e.g. ``disable_tls``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection

from erpsync.alerts.config import VARIABLE, AlertConfig
from erpsync.alerts.redact import redact

log = logging.getLogger(__name__)

SLACK_CONN_ID = "alerts_slack"
EMAIL_CONN_ID = "alerts_email"


class AlertDeliveryError(RuntimeError):
    """One or more configured channels could not take an alert; ``delivered`` lists those that did."""

    def __init__(self, subject: str, delivered: list[str], broken: dict[str, str]):
        super().__init__(
            f"alert {subject!r} not delivered to {', '.join(f'{conn_id} ({why})' for conn_id, why in broken.items())}"
            f"; delivered to: {', '.join(delivered) or 'no channel'}. Fix the Connection(s) named (Admin > "
            "Connections) or delete them to switch the channel off")
        self.delivered = delivered
        self.broken = broken


class ChannelUnreadable(RuntimeError):
    """A channel's Connection is expected but Airflow cannot give it."""


def _connection(channel: str, conn_id: str, required: Collection[str]):
    """The channel's Connection; None when the channel is off (not defined, and not expected)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        variable = f"AIRFLOW_CONN_{conn_id.upper()}"
        if os.environ.get(variable):
            raise ChannelUnreadable(f"the environment defines {variable}, but Airflow cannot read it (is it "
                                    "valid JSON or a valid connection URI?)") from None
        if channel in required:
            raise ChannelUnreadable(f"the Variable {VARIABLE} lists {channel!r} in channels, but Connection "
                                    f"{conn_id!r} is not defined or cannot be read (secrets backend, "
                                    "Admin > Connections)") from None
        return None


def _required_channels() -> list[str]:
    return AlertConfig.load().channels


def _send_slack(_connection, subject: str, text: str) -> None:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONN_ID, text=f"*{subject}*\n{text}").notify({})


def _send_email(connection, subject: str, text: str) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = connection.extra_dejson
    recipients = extra.get("to")
    if not recipients:
        raise ValueError("its extra has no 'to' (the recipients of alerts)")
    SmtpNotifier(to=recipients, from_email=extra.get("from_email"), subject=subject, html_content=_html(text),
                 smtp_conn_id=EMAIL_CONN_ID).notify({})


CHANNELS: dict[str, tuple[str, Callable[..., None]]] = {
    "slack": (SLACK_CONN_ID, _send_slack), "email": (EMAIL_CONN_ID, _send_email)}


def send(subject: str, text: str) -> list[str]:
    """Send to every configured channel; return the channels used. Text is redacted once more here
    (e-mail addresses, credentials in URLs): whatever a caller put in, no secret or address leaves.
    Raises :class:`AlertDeliveryError` after trying every channel when one of them is broken."""
    subject, text = redact(subject), redact(text)
    used: list[str] = []
    broken: dict[str, str] = {}
    try:
        required = _required_channels()
    except Exception as error:  # noqa: BLE001 - the alert still goes out; the broken Variable is reported
        required = []
        broken[VARIABLE] = redact(f"{type(error).__name__}: {error}")[:300]
    for channel, (conn_id, deliver) in CHANNELS.items():
        try:
            connection = _connection(channel, conn_id, required)
            if connection is None:
                continue
            deliver(connection, subject, text)
        except Exception as error:  # noqa: BLE001 - one broken channel must not keep the alert from the others
            broken[conn_id] = redact(f"{type(error).__name__}: {error}")[:300]
            log.error("alert channel %s (Connection %r) failed: %s", channel, conn_id, broken[conn_id])
        else:
            used.append(channel)
    if broken:
        raise AlertDeliveryError(subject, used, broken)
    if not used:
        log.warning("alert not sent (no %s or %s Connection): %s", SLACK_CONN_ID, EMAIL_CONN_ID, subject)
    return used


def _html(text: str) -> str:
    from html import escape

    return "<pre>" + escape(text) + "</pre>"
