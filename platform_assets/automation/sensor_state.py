"""A sensor's state kept in the Dagster instance's key-value store, its cursor only naming it.

Dagster stores a sensor's cursor with every tick (every 5 s, skipped ones included), so a
cursor that grows with the landing zone (one entry per file) would fill the tick history.
The state lives instead in the store Dagster's own daemons keep their cursors in, under a key
named by a hash of its content; the cursor is that hash. Writing a state never touches another
one, so an evaluation whose result Dagster throws away (a failed tick, "Test sensor" in the UI,
`dagster sensor preview`, a tick past its deadline) cannot spoil the state the saved cursor
names. Each state names the one it came from (`~parent`), emptied once a tick starts from the
newer state: Dagster saved that cursor, so the older state is done with.
"""

import hashlib
import json

import dagster as dg

PARENT = "~parent"
DIGEST_CHARS = 32  # a key of at most 64 characters, the index length of MySQL's store


class StateNotFound(Exception):
    """The cursor names a state the instance does not hold (or holds changed)."""


def _key(sensor: str, digest: str) -> str:
    return f"sensor-state:{sensor}:{digest}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def names_a_state(cursor: str | None) -> bool:
    """Whether `cursor` is a state's name (not empty, nor a state written in the cursor)."""
    return bool(cursor) and not cursor.startswith("{")


def load_state(instance: dg.DagsterInstance, sensor: str, cursor: str | None) -> dict:
    """The state the cursor names: {} for no cursor, the cursor itself for one written before
    the state left it (a JSON object). Empties the state it came from. Raises
    `StateNotFound` when the instance holds no state matching the cursor."""
    if not names_a_state(cursor):
        return json.loads(cursor) if cursor else {}
    store = instance.daemon_cursor_storage
    text = store.get_cursor_values({_key(sensor, cursor)}).get(_key(sensor, cursor))
    if not text or _digest(text) != cursor:
        raise StateNotFound(
            f"the instance holds no state of sensor {sensor!r} matching its cursor {cursor!r}"
        )
    state = json.loads(text)
    if parent := state.pop(PARENT, None):
        old = _key(sensor, parent)
        if store.get_cursor_values({old}).get(old):
            store.set_cursor_values({old: ""})
    return state


def save_state(
    instance: dg.DagsterInstance, sensor: str, cursor: str | None, before: dict | None, state: dict
) -> str:
    """The cursor naming `state`: `cursor` itself when it names a state `before` (as loaded,
    None if it could not be) equal to `state`, else the name of `state`, written now."""
    if names_a_state(cursor) and before is not None and state == before:
        return cursor
    text = json.dumps({**state, PARENT: cursor if names_a_state(cursor) else None}, sort_keys=True)
    digest = _digest(text)
    instance.daemon_cursor_storage.set_cursor_values({_key(sensor, digest): text})
    return digest
