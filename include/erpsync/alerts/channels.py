"""Where alerts go: Slack (an incoming webhook) and e-mail (SMTP), through the Slack and SMTP providers'
notifiers, each configured by an Airflow Connection; a channel without its Connection is skipped (with a
warning), never an error.

- ``alerts_slack``: type *Slack Incoming Webhook*; Password = the webhook URL (or Host + token).
- ``alerts_email``: type *SMTP*; Host, Port, Login/Password; Extra ``{"to": ["data-team@example.com"],
  "from_email": "erpsync@example.com"}`` (plus the SMTP provider's own options, e.g. ``disable_tls``).
"""

from __future__ import annotations

import logging

from erpsync.alerts.redact import redact

log = logging.getLogger(__name__)

SLACK_CONN_ID = "alerts_slack"
EMAIL_CONN_ID = "alerts_email"


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException and friends: the channel is not configured
        return None


def send(subject: str, text: str) -> list[str]:
    """Send to every configured channel; return the channels used. Text is redacted once more here
    (e-mail addresses, credentials in URLs): whatever a caller put in, no secret or address leaves."""
    subject, text = redact(subject), redact(text)
    used = []
    if _connection(SLACK_CONN_ID) is not None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        SlackWebhookNotifier(slack_webhook_conn_id=SLACK_CONN_ID, text=f"*{subject}*\n{text}").notify({})
        used.append("slack")
    email = _connection(EMAIL_CONN_ID)
    if email is not None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        extra = email.extra_dejson
        recipients = extra.get("to")
        if not recipients:
            raise ValueError(f"Connection {EMAIL_CONN_ID!r} needs extra.to, the recipients of alerts")
        SmtpNotifier(to=recipients, from_email=extra.get("from_email"), subject=subject, html_content=_html(text),
                     smtp_conn_id=EMAIL_CONN_ID).notify({})
        used.append("email")
    if not used:
        log.warning("alert not sent (no %s or %s Connection): %s", SLACK_CONN_ID, EMAIL_CONN_ID, subject)
    return used


def _html(text: str) -> str:
    from html import escape

    return "<pre>" + escape(text) + "</pre>"
