"""HTTP stubbed at the transport: a requests adapter that answers from a script."""

from __future__ import annotations

import json

import requests
from requests.adapters import BaseAdapter


class StubTransport(BaseAdapter):
    """Answers each POST with the next scripted reply: (status, body[, headers]), a callable(request)
    returning one, or an exception to raise (a transport failure)."""

    def __init__(self, replies: list):
        super().__init__()
        self.replies = list(replies)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        status, body, *headers = reply(request) if callable(reply) else reply
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers[0] if headers else {})
        response._content = json.dumps(body).encode()
        response.request = request
        return response

    def close(self):
        pass

    def methods(self) -> list[str]:
        return [json.loads(r.body)["method"] for r in self.requests]
