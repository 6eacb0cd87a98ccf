"""Stored events decoded as the application's mapper decodes them, about twice as fast
(the audit reads every event of a store)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import resolve_topic

from application.adapters.event_shapes import fits_of
from application.adapters.eventstore import StoredEventError

Row = tuple[int, UUID | str, int, str, bytes]  # notification id, originator, version, topic, state


class Decoder:
    """Stored events to domain events, as the application's mapper makes them, about twice
    as fast: the same stored JSON parsed by orjson, its ``{"_type_", "_data_"}`` objects
    revived by the transcoder's own transcodings, the class resolved once per topic.

    Rows of ``skipped`` topics (events a check does not read) are only parsed, to know
    they are well-formed JSON objects, and given as None. A row the fast path cannot read
    (or a store encrypted or compressed) goes to the mapper itself, which decodes it or
    names it in its error.
    """

    def __init__(self, mapper: Mapper[Any], skipped: frozenset[str] = frozenset()) -> None:
        self.mapper, self.skipped = mapper, skipped
        transcoder = mapper.transcoder
        self.fast = (isinstance(transcoder, JSONTranscoder) and mapper.cipher is None
                     and mapper.compressor is None)
        self.names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        # a typed value whose data is a string, decoded as its transcoding decodes it (the
        # library's datetime and UUID transcodings without their asserts)
        self.leaves: dict[str, Callable[[str], Any]] = {
            name: datetime.fromisoformat if type(t) is DatetimeAsISO
            else self._uuid if type(t) is UUIDAsHex else t.decode
            for name, t in self.names.items()}
        self.classes: dict[str, type] = {}
        self.fits: dict[str, Callable[[dict[str, Any]], bool]] = {}  # (see event_shapes)
        self.ids: dict[str, UUID] = {}

    def __call__(self, row: Row) -> Any:
        _, originator_id, version, topic, stored_state = row
        if topic in self.skipped and self.fast:  # read, not decoded: well-formed is enough
            try:
                if type(orjson.loads(stored_state)) is dict:
                    return None
            except orjson.JSONDecodeError:
                pass
            return self._by_mapper(row)  # names what is wrong with it
        cls = self.classes.get(topic)
        if cls is None or not self.fast:
            return self._by_mapper(row)
        try:
            state = orjson.loads(stored_state)
            for key, value in state.items():
                if type(value) is dict:
                    if len(value) == 2 and type(data := value.get("_data_")) is str:
                        state[key] = self.leaves[value["_type_"]](data)
                    else:
                        state[key] = self._revived(value)
                elif type(value) is list:
                    state[key] = self._revived(value)
            state["originator_id"] = self._uuid(originator_id)
        except Exception:  # the mapper says what is wrong with it, naming the event
            return self._by_mapper(row)
        if "class_version" in state:  # an upcast: the mapper's job
            return self._by_mapper(row)
        state["originator_version"] = version
        if not self.fits[topic](state):  # the mapper says what is wrong, naming the event
            return self._by_mapper(row)
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _revived(self, value: Any) -> Any:
        if type(value) is list:
            return [self._revived(v) if type(v) in (dict, list) else v for v in value]
        for key, inner in value.items():
            if type(inner) is dict or type(inner) is list:
                value[key] = self._revived(inner)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self.names[value["_type_"]].decode(value["_data_"])
        return value

    def _uuid(self, originator_id: UUID | str) -> UUID:
        """A UUID from its hex (an originator id, or a stored uuid_hex), the last few
        thousand remembered: an aggregate's events come close together, and the same
        accounts come back."""
        if isinstance(originator_id, UUID):
            return originator_id
        known = self.ids.get(originator_id)
        if known is None:
            if len(self.ids) >= 10_000:
                self.ids.clear()  # memory stays flat
            known = self.ids[originator_id] = UUID(originator_id)
        return known

    def _by_mapper(self, row: Row) -> Any:
        _, originator_id, version, topic, state = row
        try:
            uuid = self._uuid(originator_id)
        except ValueError as e:
            raise StoredEventError(f"stored event {originator_id!r} version {version} (topic "
                                   f"{topic!r}) cannot be read: its id is no UUID") from e
        event = self.mapper.to_domain_event(StoredEvent(uuid, version, topic, state))
        if isinstance(event, Snapshot):  # (never fast: each such row comes here)
            raise StoredEventError(
                f"stored event {uuid} version {version} is a snapshot, which the "
                "store keeps apart from events: among them it rewrites its aggregate's state "
                "(a password, a setting) as the services read it, unseen by the events")
        if getattr(type(event), "class_version", 1) == 1:  # plain: fast from now on
            self.classes[topic] = resolve_topic(topic)
            self.fits[topic] = fits_of(self.classes[topic])
        return event
