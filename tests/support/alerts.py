"""A local HTTP endpoint standing in for Slack's incoming webhook: it keeps what it receives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlackCatcher:
    def __init__(self):
        self.messages: list[str] = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                catcher.messages.append(json.loads(body).get("text", ""))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlackCatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def titled(self, text: str) -> list[str]:
        return [m for m in self.messages if text in m.splitlines()[0]]

    def titles(self) -> list[str]:
        """Each message's title, in order: its first line without the bold marks and the product's prefix."""
        return [m.splitlines()[0].strip("*").removeprefix("[erpsync] ") for m in self.messages]


class SmtpCatcher:
    """A local SMTP server (aiosmtpd) standing in for the team's mail relay: it keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        catcher = self
        self.messages: list[dict[str, str]] = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                from email import message_from_bytes, policy

                message = message_from_bytes(envelope.content, policy=policy.default)
                body = message.get_body(preferencelist=("html", "plain"))
                catcher.messages.append({"subject": str(message["subject"]), "to": ",".join(envelope.rcpt_tos),
                                         "from": envelope.mail_from, "body": body.get_content() if body else ""})
                return "250 OK"

        from tests.conftest import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpCatcher:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def titled(self, text: str) -> list[dict[str, str]]:
        return [m for m in self.messages if text in m["subject"]]


class AlertChannels:
    """Both alert channels of a deployment, local: Connections ``alerts_slack`` and ``alerts_email``."""

    RECIPIENT = "data-team@example.com"

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.slack = SlackCatcher()
        self.smtp = SmtpCatcher()

    def __enter__(self) -> AlertChannels:
        self.slack.__enter__()
        self.smtp.__enter__()
        self.monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SLACK", json.dumps({"conn_type": "slackwebhook",
                                                                        "password": self.slack.url}))
        self.monkeypatch.setenv("AIRFLOW_CONN_ALERTS_EMAIL", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": self.smtp.port,
            "extra": {"to": [self.RECIPIENT], "from_email": "erpsync@example.com", "disable_tls": True,
                      "disable_ssl": True, "timeout": 10, "retry_limit": 1},
        }))
        return self

    def __exit__(self, *exc) -> None:
        self.slack.__exit__(*exc)
        self.smtp.__exit__(*exc)

    def titled(self, text: str) -> int:
        """How many times an alert whose title contains ``text`` was sent; the same on both channels."""
        slack, mail = len(self.slack.titled(text)), len(self.smtp.titled(text))
        assert slack == mail, f"{text!r}: {slack} Slack message(s), {mail} e-mail(s)"
        return slack

    @property
    def count(self) -> int:
        assert len(self.slack.messages) == len(self.smtp.messages), (self.slack.messages, self.smtp.messages)
        return len(self.slack.messages)

    def texts(self) -> list[str]:
        return self.slack.messages + [m["subject"] + "\n" + m["body"] for m in self.smtp.messages]
