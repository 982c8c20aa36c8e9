"""JSON text exactly as ``json.dumps`` writes it, cheaper for many small values.

``json.dumps`` builds its C encoder anew on every call: for a short list or a few fields that is most of
the cost (a staged product row has three such values). A function from :func:`dumps_function` builds it
once. The text is the same to the character (``content_hash`` digests it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder
from typing import Any


def dumps_function(**options: Any) -> Callable[[Any], str]:
    """``lambda value: json.dumps(value, **options)`` without the encoder built per call. A value that
    contains itself raises RecursionError rather than ValueError: no circular check, whose bookkeeping
    would outlive a call that failed half way."""
    settings = json.JSONEncoder(**options)
    if encoder.c_make_encoder is None or settings.indent is not None:
        return settings.encode
    encode = encoder.c_make_encoder(
        None, settings.default,
        encoder.encode_basestring_ascii if settings.ensure_ascii else encoder.encode_basestring,
        None, settings.key_separator, settings.item_separator, settings.sort_keys, settings.skipkeys,
        settings.allow_nan,
    )
    return lambda value: "".join(encode(value, 0))
