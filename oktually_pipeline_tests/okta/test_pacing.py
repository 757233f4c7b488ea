from oktually_pipeline.okta.pacing import RateLimitInfo, RateLimitPacer, bucket_for


class FakeClock:
    """Time that moves only when the pacer sleeps: pacing decisions become exact."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_replaces_ids() -> None:
    assert bucket_for("/api/v1/groups/00g1abcdEFGH2345/users") == "/api/v1/groups/{id}/users"
    assert bucket_for("/api/v1/logs?after=1_2") == "/api/v1/logs"
    assert bucket_for("/api/v1/users") == "/api/v1/users"


def test_remaining_budget_is_spread_over_the_window() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(reserve=0.0, clock=clock.time, sleep=clock.sleep)
    # 11 left (one always kept in reserve), window ends in 10 s: one request a second, not ten at once.
    pacer.after_response("b", RateLimitInfo(limit=100, remaining=11, reset=clock.now + 10))
    starts = []
    for _ in range(5):
        pacer.before_request("b")
        starts.append(clock.now)
    gaps = [round(b - a, 3) for a, b in zip(starts, starts[1:])]
    assert gaps == [1.0, 1.0, 1.0, 1.0]


def test_exhausted_bucket_waits_for_reset() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(reserve=0.02, clock=clock.time, sleep=clock.sleep)
    pacer.after_response("b", RateLimitInfo(limit=50, remaining=1, reset=clock.now + 7))
    waited = pacer.before_request("b")
    assert waited == 7
    assert pacer.lowest_headroom == 1 / 50


def test_429_waits_until_reset_not_a_guess() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock.time, sleep=clock.sleep)
    assert pacer.wait_after_429("b", RateLimitInfo(10, 0, clock.now + 48), fallback=1.0) == 48.25
    assert pacer.wait_after_429("b", None, fallback=1.5) == 1.5


def test_headers_parse_or_none() -> None:
    assert RateLimitInfo.from_headers({"x-rate-limit-limit": "600", "x-rate-limit-remaining": "574",
                                       "x-rate-limit-reset": "1598552424"}) == RateLimitInfo(600, 574, 1598552424)
    assert RateLimitInfo.from_headers({}) is None
