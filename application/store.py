"""How events are encoded: eventsourcing's JSON transcoder, tolerant of datetime subclasses."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import JSONTranscoder


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


TRANSCODER_TOPIC = f"{__name__}:{ModelTranscoder.__name__}"
