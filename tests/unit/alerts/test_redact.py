from erpsync.alerts.redact import redact


def test_credentials_tokens_and_addresses_never_leave():
    text = redact("login failed for postgresql://sync:s3cret@db:5432/wh; token=abc123 customer ava@example.com "
                  "shpat_0123456789abcdef0123 password: hunter2")
    assert "s3cret" not in text and "abc123" not in text and "ava@example.com" not in text
    assert "0123456789abcdef" not in text and "hunter2" not in text
    assert "postgresql://***@db:5432/wh" in text and "<e-mail>" in text


def test_ordinary_text_is_left_alone():
    text = "QUARANTINE erp.product: 2 row(s) held back (JKT-0001-M, JKT-0002-S)"
    assert redact(text) == text
