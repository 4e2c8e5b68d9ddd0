"""An in-memory token bucket per client: `per_minute` requests a minute, bursts up to that many.

In memory means per process: with several API instances each enforces its own limit.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimited(Exception):
    def __init__(self, *, retry_after: int, per_minute: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after} s")
        self.retry_after = retry_after
        self.per_minute = per_minute


class TokenBucketLimiter:
    """Each client's bucket holds up to `per_minute` tokens and refills `per_minute` a minute.

    Args:
        per_minute: the sustained rate and the burst size; 0 turns limiting off.
        clock: seconds from any fixed point (monotonic); replaceable in tests.
        max_clients: buckets kept; the least recently seen client's is dropped beyond that
            (a dropped bucket starts full again, so this bounds memory, not fairness).
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Spends one of the client's tokens.

        Raises:
            RateLimited: the bucket is empty; `retry_after` says when a token is back.
        """
        if self.per_minute <= 0:
            return
        full = float(self.per_minute)
        rate = full / 60.0  # tokens per second
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.pop(client, (full, now))
            tokens = min(full, tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client] = (tokens, now)  # re-inserted last: most recently seen
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if not allowed:
            raise RateLimited(
                retry_after=max(1, math.ceil((1.0 - tokens) / rate)), per_minute=self.per_minute
            )
