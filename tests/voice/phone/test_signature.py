"""Twilio's request signature, against the worked example in Twilio's webhook security guide."""

from __future__ import annotations

from voice.phone.signature import is_signed, signature

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FORM = [
    ("To", "+18005551212"),  # out of order on purpose: the signature sorts them
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
]
PUBLISHED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_matches_twilios_published_example():
    assert signature("12345", URL, FORM) == PUBLISHED
    assert is_signed("12345", URL, FORM, PUBLISHED)


def test_anything_else_is_not_signed():
    assert not is_signed("12345", URL, [*FORM[:-1], ("From", "+1999")], PUBLISHED)
    assert not is_signed("12345", URL.replace("foo=1", "foo=2"), FORM, PUBLISHED)
    assert not is_signed("other token", URL, FORM, PUBLISHED)
    assert not is_signed("12345", URL, FORM, PUBLISHED[:-1])
    assert not is_signed("12345", URL, FORM, "")
