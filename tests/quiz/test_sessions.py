"""The session cookie's signer remembers the cookies it verified, and still refuses what
`TimestampSigner` refuses: a changed cookie, a cookie signed with another key, an old one."""

from __future__ import annotations

import time

import pytest
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from grader.quiz.web.sessions import RememberingSigner

SECRET = "s3cret-for-the-test"


class _SignedEarlier(TimestampSigner):
    """Signs as if it were 100 s ago (itsdangerous's own hook for the clock)."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 100


def test_a_verified_cookie_is_accepted_again() -> None:
    signer = RememberingSigner(SECRET)
    cookie = TimestampSigner(SECRET).sign(b"payload")
    assert signer.unsign(cookie, max_age=60) == b"payload"
    assert signer.unsign(cookie, max_age=60) == b"payload"
    value, when = signer.unsign(cookie, max_age=60, return_timestamp=True)
    assert value == b"payload" and abs(when.timestamp() - time.time()) < 5


def test_a_remembered_cookie_past_its_age_is_refused() -> None:
    signer = RememberingSigner(SECRET)
    cookie = _SignedEarlier(SECRET).sign(b"payload")
    assert signer.unsign(cookie, max_age=1000) == b"payload"  # remembered from here on
    with pytest.raises(SignatureExpired):
        signer.unsign(cookie, max_age=50)


def test_changed_or_foreign_cookies_are_refused_after_a_good_one() -> None:
    signer = RememberingSigner(SECRET)
    good = TimestampSigner(SECRET).sign(b"student=1")
    assert signer.unsign(good, max_age=60) == b"student=1"
    forged = good.replace(b"student=1", b"student=2")
    foreign = TimestampSigner("another-key").sign(b"student=2")
    for cookie in (forged, foreign):
        with pytest.raises(BadSignature):
            signer.unsign(cookie, max_age=60)
