"""Instructor sign-in: server-side sessions and a limit on failed guesses.

Signing in stores a random session id in the (signed) session cookie and its hash in the
database; signing out deletes the row, so a copy of the cookie stops working at once. The
token itself is never in a cookie: a row remembers an HMAC of the token under this
installation's random secret, so changing the token signs every instructor out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from grader.quiz.store import QuizStore

SESSION_SECONDS = 14 * 24 * 3600
GUESS_WINDOW = 60.0  # seconds
GUESSES_PER_CLIENT = 5  # failed guesses from one address in a window
GUESSES_IN_TOTAL = 30  # failed guesses from all addresses together in a window


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class InstructorSessions:
    def __init__(
        self, store: QuizStore, secret: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._secret = secret.encode()
        self._clock = clock

    def _digest(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def begin(self, token: str) -> str:
        """A new session for the instructor who gave `token`; its id, for the cookie."""
        session_id = secrets.token_urlsafe(32)
        self.store.add_instructor_session(_hash(session_id), self._digest(token))
        return session_id

    def valid(self, session_id: object, token: str) -> bool:
        if not isinstance(session_id, str) or not session_id:
            return False
        row = self.store.instructor_session(_hash(session_id))
        return (
            row is not None
            and hmac.compare_digest(row.token_digest, self._digest(token))
            and self._clock() - row.created_at < SESSION_SECONDS
        )

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str) and session_id:
            self.store.end_instructor_session(_hash(session_id))


class GuessLimit:
    """Failed guesses of the token, per client address and in total, over a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> deque[float]:
        while times and now - times[0] >= GUESS_WINDOW:
            times.popleft()
        return times

    def wait(self, client: str) -> int:
        """Seconds until `client` may guess again; 0 when it may now."""
        now = self._clock()
        with self._lock:
            mine = self._trim(self._by_client.get(client, deque()), now)
            everyone = self._trim(self._all, now)
            full = [
                t
                for t, limit in ((mine, GUESSES_PER_CLIENT), (everyone, GUESSES_IN_TOTAL))
                if len(t) >= limit
            ]
            if not full:
                return 0
            return max(1, int(max(GUESS_WINDOW - (now - t[0]) for t in full) + 0.999))

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._by_client) > 10_000:  # forget the quietest addresses
                for quiet in [c for c, t in self._by_client.items() if not self._trim(t, now)]:
                    del self._by_client[quiet]
