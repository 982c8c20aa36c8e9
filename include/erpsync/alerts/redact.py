"""What never leaves in an alert: e-mail addresses (customers), credentials in URLs, tokens."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/\s:@]+:[^/\s@]+@")
_SECRET_PARAMS = re.compile(r"(?i)\b(token|password|passwd|secret|api[_-]?key|access[_-]?token)(\s*[=:]\s*)[^\s&,;'\"]+")
_SHOPIFY_TOKEN = re.compile(r"\bshp(at|ca|pa|ss)_[0-9a-fA-F]{8,}\b")


def redact(text: str) -> str:
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _EMAIL.sub("<e-mail>", text)
    text = _SECRET_PARAMS.sub(r"\1\2***", text)
    return _SHOPIFY_TOKEN.sub("shp***", text)
