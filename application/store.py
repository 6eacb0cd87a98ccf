"""How events are encoded: eventsourcing's JSON transcoder, tolerant of datetime subclasses."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent


class ModelTranscoder(JSONTranscoder):
    """Encodes an object by the nearest registered class in its MRO.

    freezegun's ``FakeDatetime`` subclasses ``datetime``; the library's transcoder matches
    exact types only and refuses it. Looking up the MRO solves it once, for every store, with
    no test-only code in the product's path; stored data is the same ``datetime_iso``.
    """

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        for cls in type(o).__mro__:
            transcoding = self.types.get(cls)
            if transcoding is not None:
                return {"_type_": transcoding.name, "_data_": transcoding.encode(o)}
        return super()._encode_obj(o)


class StoredEventError(ValueError):
    """A stored event that cannot be read (corrupt, or written by something else)."""


class ModelMapper(Mapper[UUID]):
    """The library's mapper, with one clear error naming the event for any row it cannot
    read, instead of whatever a foreign topic or a broken state raises deep inside."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            return super().to_domain_event(stored_event)
        except Exception as e:
            raise StoredEventError(
                f"stored event {stored_event.originator_id} version "
                f"{stored_event.originator_version} (topic {stored_event.topic!r}) "
                f"cannot be read: {type(e).__name__}: {e}"
            ) from e


TRANSCODER_TOPIC = f"{__name__}:{ModelTranscoder.__name__}"
MAPPER_TOPIC = f"{__name__}:{ModelMapper.__name__}"
