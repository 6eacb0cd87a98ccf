"""The event store as this system keeps it: eventsourcing's JSON transcoder (tolerant of
datetime subclasses), a mapper that names an unreadable event, a repository whose cache is
safe for a worker's threads, and an application base that takes its settings from the
composition root alone."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Collection
from json import JSONDecodeError
from typing import Any, ClassVar, TypeGuard, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    LRUCache,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import BaseAggregate, DomainEvent, Snapshot
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic

from application.adapters.cache import OrderedLRU
from application.adapters.event_shapes import foreign_topic, misshapen


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

    what = "holds an event that cannot be read"  # what it says of the store it is in

    def said(self) -> str:
        """What a command says of the store it cannot read (after "error: ")."""
        return f"the event store {self.what}: {self}"


class ModelMapper(Mapper[UUID]):
    """The library's mapper, with one clear error naming the event for any row it cannot
    read, instead of whatever a foreign topic or a broken state raises deep inside (or
    later, in the code that reads the event: see event_shapes)."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        try:
            if foreign_topic(stored_event.topic):
                raise _Misshapen(_FOREIGN)
            event = super().to_domain_event(stored_event)
            if not isinstance(event, DomainEvent) or (
                    isinstance(event, Snapshot) and foreign_topic(event.topic)):
                raise _Misshapen(_FOREIGN)  # (a snapshot's topic: the class it rebuilds)
            if problem := misshapen(type(event), event.__dict__):
                raise _Misshapen(problem)
            return event
        except Exception as e:
            if isinstance(stored_event.state, str):  # (a TEXT column's: written by another
                return self.to_domain_event(StoredEvent(  # hand; read as its UTF-8, as the
                    stored_event.originator_id, stored_event.originator_version,  # audit's
                    stored_event.topic, stored_event.state.encode()))  # fast path reads it)
            why = str(e) if isinstance(e, _Misshapen) else (
                _FOREIGN if not _names_an_event(stored_event.topic) else _said(e))
            raise StoredEventError(
                f"stored event {stored_event.originator_id} version "
                f"{stored_event.originator_version} (topic {stored_event.topic!r}) "
                f"cannot be read: {why}"
            ) from e


def _said(e: Exception) -> str:
    """What the library raised, as a line naming the event says it: its state that could
    not be decoded by the cause alone (the library's message repeats the event's names)."""
    cause = e.__cause__
    if isinstance(e, MapperDeserialisationError) and isinstance(cause, Exception):
        said = str(cause) if type(cause) in (ValueError, JSONDecodeError) and str(cause) else \
            f"{type(cause).__name__}: {cause}"  # (a parse's own words; else what raised it)
        return f"its state cannot be decoded ({said})"
    return f"{type(e).__name__}: {e}"


def _names_an_event(topic: str) -> bool:
    """Whether a topic of this system's names an event class (not an aggregate, say)."""
    try:
        named = resolve_topic(topic)
    except Exception:
        return False
    return isinstance(named, type) and issubclass(named, DomainEvent)


class _Misshapen(Exception):
    """A stored event that decodes, but not as one of this system's (said as it is)."""


_FOREIGN = "its topic names no event of this system"


T = TypeVar("T")
_STRIPES = [threading.Lock() for _ in range(256)]


def is_a(obj: object, kind: type[T]) -> TypeGuard[T]:
    """``isinstance``, remembered by class: an aggregate's class is an ABC, whose isinstance
    is Python code at every call (a simulation asks at every read and save)."""
    classes = type(obj), kind
    found = _KINDS.get(classes)
    if found is None:
        found = _KINDS[classes] = isinstance(obj, kind)
    return found


_KINDS: dict[tuple[type, type], bool] = {}  # (as many as the classes asked of)

ABSENT_REMEMBERED = 10_000  # ids a worker found absent (client addresses, login IDs)


class SerialRepository(Repository[UUID]):
    """The library's repository, one thread at a time per aggregate (a few unrelated ones
    share a lock): its cache brings an aggregate up to date under a lock, but hands out its
    copy after releasing it, so one thread could copy the cached aggregate while another
    applies new events to it ("dictionary changed size during iteration", a 500 page).
    Without fast-forward (a simulation: each of its aggregates has one writer, a shard
    writes its own customers' alone) a cached aggregate changes only by its owner's
    commands: nothing to wait for.

    An id found absent is remembered (a bounded table). Asked for again, its one writer
    (no fast-forward) knows it is still absent until it saves it (a save another writer
    refused forgets all: it had a rival after all); a portal worker asks with one query
    for its first event whether another process has since created it (then the library's
    read follows), where the library queries the snapshots, then the events. A D-14
    client address with no failures is asked for twice in every login, a login ID at
    every registration. The only writer of a store that held nothing when it began (a
    simulation's own) keeps every id it saved: any other is absent, known without a read
    (onboarding asks whether each login ID is taken)."""

    absent: OrderedLRU[UUID, bool]
    written: set[int] | None = None  # (ids as integers: a UUID's hash is a Python call)

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        if self.cache is None:
            return super().get(aggregate_id, **kwargs)
        if not self.fastforward:
            return self._get(aggregate_id, kwargs)
        with _STRIPES[hash(aggregate_id) % len(_STRIPES)]:
            return self._get(aggregate_id, kwargs)

    def _get(self, aggregate_id: UUID, kwargs: dict[str, Any]) -> Any:
        latest = kwargs.get("version") is None
        if latest and self._still_absent(aggregate_id):
            raise AggregateNotFoundError(aggregate_id)
        if self.cache is not None and not (kwargs or self.fastforward
                                           or self.deepcopy_from_cache):
            try:  # (a simulation's read: its cached aggregate as it is, the library's step)
                return self.cache.get(aggregate_id)
            except KeyError:
                pass
        try:
            return super().get(aggregate_id, **kwargs)
        except AggregateNotFoundError:
            if latest:
                self.absent.put(aggregate_id, True)
            raise

    def forget_absent(self) -> None:
        """Another writer's save came first: what this one found absent may be no more."""
        self.absent = OrderedLRU(maxsize=ABSENT_REMEMBERED)
        self.written = None  # (it was not the only writer after all)

    def saved(self, aggregate_ids: Collection[UUID]) -> None:
        """They exist now: no longer absent."""
        if self.written is not None:
            self.written.update(aggregate_id.int for aggregate_id in aggregate_ids)
        if self.absent.cache:  # (most saved ids never were)
            for aggregate_id in aggregate_ids:
                if aggregate_id in self.absent.cache:
                    self._present(aggregate_id)

    def _present(self, aggregate_id: UUID) -> None:
        with contextlib.suppress(KeyError):  # (another thread's save may have said so first)
            self.absent.get(aggregate_id, evict=True)

    def _still_absent(self, aggregate_id: UUID) -> bool:
        if self.written is not None:
            return aggregate_id.int not in self.written
        if aggregate_id not in self.absent.cache:  # (every read asks: a dict's answer, no
            return False  # lock taken, nothing raised, for the ids not known to be absent)
        try:
            self.absent.get(aggregate_id)  # (its place in the table refreshed)
        except KeyError:
            return False  # (another thread's save said it exists meanwhile)
        if not self.fastforward:
            return True  # (its one writer has not saved it since)
        if next(iter(self.event_store.get(originator_id=aggregate_id, limit=1)), None) is None:
            return True
        self._present(aggregate_id)
        return False


class EventStore(Application[UUID]):
    """An application on this system's event store: its codec fixed on the class, and its
    store settings only those the composition root passes in (the library would otherwise
    add the whole process environment, so a stray PERSISTENCE_MODULE could move the store)."""

    env: ClassVar[dict[str, str]] = {
        "TRANSCODER_TOPIC": f"{__name__}:{ModelTranscoder.__name__}",
        "MAPPER_TOPIC": f"{__name__}:{ModelMapper.__name__}",
    }

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        settings = dict(type(self).env)
        if type(self).snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        return Environment(name, settings | dict(env or {}))

    def construct_repository(self) -> Repository[UUID]:
        repository = super().construct_repository()
        repository.__class__ = SerialRepository  # (the library builds it; same state)
        assert isinstance(repository, SerialRepository)
        repository.absent = OrderedLRU(maxsize=ABSENT_REMEMBERED)
        if isinstance(repository.cache, LRUCache):  # (the same size, faster: see OrderedLRU)
            repository.cache = OrderedLRU(maxsize=repository.cache.maxsize)
        return repository

    def write_alone(self) -> None:
        """This process is its store's only writer, and the store holds nothing yet (a
        simulation's own store): an aggregate it has not saved is absent, without a read."""
        if isinstance(self.repository, SerialRepository) and self.repository.cache is not None \
                and not self.repository.fastforward and not self.recorder.max_notification_id():
            self.repository.written = set()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, collecting an aggregate's events without its structural
        (runtime Protocol) checks, which cost more than the rest of collecting on Python
        3.11; anything but an aggregate is collected the library's way."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        loose = False  # (an event saved as it is, not collected from its aggregate)
        for obj in objs:
            if is_a(obj, BaseAggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif obj is not None:
                processing_event.collect_events(obj)
                loose = True
        processing_event.saved_kwargs.update(kwargs)
        try:
            recordings = self._record(processing_event)
        except IntegrityError:
            if isinstance(self.repository, SerialRepository):
                self.repository.forget_absent()
            raise
        self._cache_saved(processing_event, loose)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, as it calls it
        return recordings

    def _cache_saved(self, saved: ProcessingEvent[UUID], loose: bool) -> None:
        """What this save recorded is no longer absent. With fast-forward (the portal's
        workers) the library caches nothing it saves, so the next read of a new aggregate
        (an attempt, a session) would query its snapshots and all its events: a copy of
        each aggregate this save recorded, as recorded, is cached instead, to be
        fast-forwarded, if ``read_again`` says it will be read."""
        repository = self.repository
        if not isinstance(repository, SerialRepository):
            return
        repository.saved({event.originator_id for event in saved.events} if loose
                         else saved.aggregates.keys())
        if not repository.fastforward:
            return  # (the library caches what it saves)
        recorded = {event.originator_id: event.originator_version for event in saved.events}
        for aggregate in saved.aggregates.values():
            if (repository.cache is not None and recorded.get(aggregate.id) == aggregate.version
                    and self.read_again(aggregate)):
                repository.cache.put(aggregate.id, copy.deepcopy(aggregate))

    def read_again(self, aggregate: Any) -> bool:
        """Whether a worker will read this aggregate again soon after saving it (so it is
        worth a place in the cache); an application names what it reads no more."""
        return True
