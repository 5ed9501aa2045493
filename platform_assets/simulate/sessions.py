"""One day of user sessions, planned as arrays: who, when, on which app, how deep in the funnel.

Sessions are sampled per user from a long-tailed activity rate, placed on an hour-of-day curve
in the user's local time, pushed apart so a user's sessions are > 30 minutes apart, and trimmed
so the day holds about the requested number of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from platform_assets.simulate import vocab
from platform_assets.simulate.fmt import MS_PER_DAY, choice, within_group_index

SESSION_GAP_MS = 30 * 60_000 + 1_000  # inactivity that separates two sessions of a user
MAX_SESSIONS_PER_DAY = 6.0  # cap on a user's expected sessions per day
OVERSAMPLE = 1.4  # sessions sampled per session needed, before trimming to the target
EVENTS_PER_SESSION = 5.0  # conservative estimate, used to size the sample
FUNNEL_STEPS = ("login", "signup", "browse", "view", "cart", "remove", "checkout", "purchase")


@dataclass
class Sessions:
    """Per-session arrays (sorted by start) and per-event gaps (sessions concatenated)."""

    user: np.ndarray
    start_ms: np.ndarray
    app: np.ndarray
    steps: dict[str, np.ndarray] = field(default_factory=dict)  # events per funnel step
    gaps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def size(self) -> int:
        return self.user.size

    @property
    def n_events(self) -> np.ndarray:
        return sum(self.steps[s] for s in FUNNEL_STEPS)

    def take(self, rows: np.ndarray) -> Sessions:
        """The given sessions, in the given order, with their gaps."""
        n = self.n_events
        first = np.cumsum(n) - n
        gap_rows = np.repeat(first[rows], n[rows]) + within_group_index(n[rows])
        return Sessions(
            user=self.user[rows],
            start_ms=self.start_ms[rows],
            app=self.app[rows],
            steps={k: v[rows] for k, v in self.steps.items()},
            gaps=self.gaps[gap_rows],
        )


def plan_day(
    rng: np.random.Generator,
    activity: np.ndarray,
    signup_rows: np.ndarray,
    user_offset_min: np.ndarray,
    user_app: np.ndarray,
    last_end_ms: np.ndarray,
    day_ms: int,
    target_events: int,
) -> Sessions:
    """Sessions of one day: existing users by activity, plus one session per new signup."""
    rates = _session_rates(activity, OVERSAMPLE * target_events / EVENTS_PER_SESSION)
    users = np.repeat(np.arange(activity.size), rng.poisson(rates))
    users = np.concatenate([signup_rows, users])
    is_signup = np.arange(users.size) < signup_rows.size
    app = np.where(rng.random(users.size) < 0.8, user_app[users], _apps(rng, users.size))
    sess = Sessions(user=users, start_ms=np.zeros(users.size, dtype=np.int64), app=app)
    sess.steps = _funnel(rng, is_signup)
    sess.gaps = _gaps(rng, sess.n_events, sess.steps["purchase"])
    duration = _durations(sess.gaps, sess.n_events)
    start = _start_times(rng, user_offset_min[users], duration, day_ms)
    sess.start_ms = _spread(users, start, duration, last_end_ms[users], day_ms)
    fits = sess.start_ms + duration < day_ms + MS_PER_DAY
    kept = _trim(rng, sess.n_events, is_signup, fits, target_events)
    kept = kept[np.lexsort((sess.user[kept], sess.start_ms[kept]))]
    np.maximum.at(last_end_ms, sess.user[kept], sess.start_ms[kept] + duration[kept])
    return sess.take(kept)


def _session_rates(activity: np.ndarray, sessions: float) -> np.ndarray:
    """Expected sessions per user: proportional to activity, capped, summing to `sessions`."""
    sessions = min(sessions, 0.99 * MAX_SESSIONS_PER_DAY * activity.size)
    lo, hi = 0.0, sessions / activity.sum() * 1e3 + 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.minimum(mid * activity, MAX_SESSIONS_PER_DAY).sum() < sessions:
            lo = mid
        else:
            hi = mid
    return np.minimum(hi * activity, MAX_SESSIONS_PER_DAY)


def _apps(rng: np.random.Generator, n: int) -> np.ndarray:
    return choice(rng, vocab.APP_WEIGHTS, n)


def _funnel(rng: np.random.Generator, is_signup: np.ndarray) -> dict[str, np.ndarray]:
    """Events per funnel step per session, with realistic drop-off between steps."""
    n = is_signup.size
    u = rng.random((6, n))
    view = np.where(u[0] < 0.25, 0, rng.geometric(0.33, n))  # a quarter bounce
    cart = np.where((view > 0) & (u[1] < 0.30), np.minimum(view, rng.geometric(0.6, n)), 0)
    remove = ((cart > 0) & (u[2] < 0.2)).astype(np.int64)
    checkout = ((cart - remove > 0) & (u[3] < 0.40)).astype(np.int64)
    purchase = np.where((checkout > 0) & (u[4] < 0.60), cart - remove, 0)
    return {
        "login": ((~is_signup) & (u[5] < 0.4)).astype(np.int64),
        "signup": is_signup.astype(np.int64),
        "browse": rng.geometric(0.45, n),
        "view": view,
        "cart": cart,
        "remove": remove,
        "checkout": checkout,
        "purchase": purchase,
    }


def _gaps(rng: np.random.Generator, n_events: np.ndarray, purchases: np.ndarray) -> np.ndarray:
    """Milliseconds since the previous event of the session (seconds to minutes).

    A session's first event has gap 0, and so do purchase lines after the first: one purchase
    action emits one event per item at the same instant.
    """
    pos = within_group_index(n_events)
    gaps = np.clip(rng.lognormal(np.log(20_000), 1.0, pos.size), 1_000, 20 * 60_000)
    gaps = gaps.astype(np.int64)
    first_purchase = np.repeat(n_events - purchases, n_events)
    gaps[(pos == 0) | (pos > first_purchase)] = 0
    return gaps


def _durations(gaps: np.ndarray, n_events: np.ndarray) -> np.ndarray:
    first = np.cumsum(n_events) - n_events
    return np.add.reduceat(gaps, first) if gaps.size else np.zeros(0, dtype=np.int64)


def _start_times(
    rng: np.random.Generator, offset_min: np.ndarray, duration: np.ndarray, day_ms: int
) -> np.ndarray:
    """Starts following the local hour-of-day curve, inside the UTC day with the whole session."""
    n = offset_min.size
    local_ms = (choice(rng, vocab.HOUR_CURVE, n) * 3_600_000) + rng.integers(0, 3_600_000, n)
    utc_ms = (local_ms - offset_min * 60_000) % MS_PER_DAY
    return day_ms + np.minimum(utc_ms, MS_PER_DAY - 1 - duration)


def _spread(
    users: np.ndarray, start: np.ndarray, duration: np.ndarray, last_end: np.ndarray, day_ms: int
) -> np.ndarray:
    """Push sessions later so each starts > 30 min after the user's previous one ends.

    With c = the user's earlier durations plus gaps, the earliest valid start is
    s'_k = c_k + max_{j<=k}(s_j - c_j): a grouped running maximum, computed in one pass.
    """
    order = np.lexsort((start, users))
    u, d = users[order], duration[order]
    rel = np.maximum(start[order], last_end[order] + SESSION_GAP_MS) - day_ms
    step = d + SESSION_GAP_MS
    group_first = np.r_[True, u[1:] != u[:-1]]
    total = np.cumsum(step)
    before_group = np.maximum.accumulate(np.where(group_first, total - step, 0))
    c = total - step - before_group
    group = np.cumsum(group_first)
    big = np.int64(1) << 40
    running = np.maximum.accumulate(rel - c + group * big) - group * big
    out = np.empty_like(start)
    out[order] = day_ms + c + running
    return out


def _trim(
    rng: np.random.Generator,
    n_events: np.ndarray,
    is_signup: np.ndarray,
    fits: np.ndarray,
    target: int,
) -> np.ndarray:
    """Sessions kept so the day has about `target` events: all signups, then a random sample."""
    signups = np.flatnonzero(is_signup)
    others = rng.permutation(np.flatnonzero(fits & ~is_signup))
    order = np.concatenate([signups, others])
    total = np.cumsum(n_events[order])
    keep = (total <= target) | (np.arange(order.size) < signups.size)
    return order[keep]
