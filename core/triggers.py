"""API-triggered sends: one call names up to 1,000 profiles and a JSON context; each becomes one
run of the campaign, with every recipient's outcome recorded as delivery events (PRODUCT.md).

The rules, in order (nothing is written when one refuses the call):
1. the API key's role may trigger (`Action.TRIGGER`: Manager, Approver, Administrator);
2. the body is valid (`TriggerRequest`: 1..1,000 recipients, each `profile_id` or `address`, no
   other field; `context` maps names to text, numbers, true/false or null);
3. the campaign exists, is API-triggered, Live, inside its start/end window, and its channel
   configuration is enabled;
4. recipients resolve to profiles (an address is the email for email campaigns, the phone for SMS;
   other channels take profile ids), then the exclusions of a run apply (suppressed, no address, no
   consent - `core.audiences.exclusion_reason` - and, for marketing campaigns, the frequency cap;
   transactional messages such as a password reset are not capped);
5. each message is rendered with the profile and the context and handed to the configuration's
   provider (sandbox, SMTP or webhook, as `Delivery` does);
6. the run, its events and the idempotency record commit together; the answer lists every
   recipient's outcome (sent, excluded + reason, error + reason, or rejected: unknown or repeated).

`Idempotency-Key`: per API key and campaign, a key is answered once. A retry with the same body
gets the stored answer (`replayed: true`) and sends nothing; the same key with another body is
refused; a retry while the first call is still running waits for it. Records are kept for good.

Throughput (bench/bench_api.py): the hot path touches the database only to commit. Campaigns, keys
and the profile frame are memoised across delivery commits (`Store.memo(past_deliveries=True)`);
profiles are found by binary search; messages render through `templates.RowRenderer`; used
Idempotency-Keys are known from a Bloom filter; and commits are grouped, since a DuckDB commit
costs milliseconds and a call's rows microseconds. `trigger()` (any thread) queues its rows for
the store's committer thread, which writes all queued calls in one transaction; the REST API
groups calls on its event loop instead, prepares each group there and writes it on one writer
thread (`begin` / `prepare_group` / `store_group` / `end`, see api/routes.py). The sandbox's full
simulation runs once per group (`sandbox.simulate_columns`, the same events as per run).
"""

from __future__ import annotations

import hashlib
import logging
import math
import queue
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core import roles, sandbox, templates
from core.api_keys import ApiKey
from core.audiences import Audiences, exclusion_reason
from core.clock import Clock, utc_now
from core.delivery import Delivery, frequency_cap
from core.enums import Action, CampaignType, Channel, Provider, Purpose, Status
from core.errors import Conflict, HeraldError, InvalidInput, NotFound
from core.models import Campaign, ChannelConfig, UtcTime, parse
from core.store import Store
from core.store import api_rows, audience_rows, campaign_rows, delivery_rows
from core.store import workspace_rows as ws

log = logging.getLogger("herald.triggers")
MAX_RECIPIENTS = 1000
COMMIT_WAIT_SECONDS = 60.0
MAX_CONTEXT_KEYS = 100
MAX_CONTEXT_TEXT = 10_000
INT64 = 2**63
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
IDEMPOTENCY_WAIT_SECONDS = 30.0
MAX_GROUP = 256  # calls committed together at most
RECORDS_KEPT = 50_000  # idempotency answers remembered in memory (all are in the store)
_ADDRESS_COLUMN = {Channel.EMAIL: "email", Channel.SMS: "phone"}


# ---- what a call sends and gets -----------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


def _one_of_schema(schema: dict[str, Any]) -> None:
    """The document says what the validator does: exactly one of the two fields, never null."""
    for prop in schema["properties"].values():
        (kept,) = [s for s in prop.pop("anyOf") if s.get("type") != "null"]
        prop.update(kept)
        prop.pop("default", None)
    schema["oneOf"] = [{"required": ["profile_id"]}, {"required": ["address"]}]


class Recipient(_Body):
    """One recipient: a profile id, or an address (email for email campaigns, phone for SMS)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True,
                              json_schema_extra=_one_of_schema)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            nulls = [k for k in ("profile_id", "address") if k in data and data[k] is None]
            if nulls:
                raise ValueError(f"{nulls[0]} cannot be null: give a value or leave the field out")
        return data

    profile_id: int | None = Field(default=None, ge=1, lt=INT64, description="a profile's id")
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)] | None = Field(
        default=None, description="an email address (email campaigns) or phone number (SMS campaigns)")

    @model_validator(mode="after")
    def _one_of(self) -> Recipient:
        if (self.profile_id is None) == (self.address is None):
            raise ValueError("give either profile_id or address (exactly one)")
        return self


ContextKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ContextValue = Annotated[
    bool | Annotated[int, Field(ge=-INT64, lt=INT64)] | float | Annotated[str, Field(max_length=MAX_CONTEXT_TEXT)] | None,
    Field(description="text, a number, true/false or null"),
]


class TriggerRequest(_Body):
    recipients: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS,
                                        description=f"1 to {MAX_RECIPIENTS} recipients")
    context: dict[ContextKey, ContextValue] = Field(
        default_factory=dict, max_length=MAX_CONTEXT_KEYS,
        description="values for the content's {{context.<key>}} tokens, the same for every recipient")

    @field_validator("context", mode="before")
    @classmethod
    def _scalars(cls, value: Any) -> Any:
        """Name the key whose value a template could not show (pydantic would list every union branch)."""
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, (Mapping, list, tuple)):
                    kind = "an object" if isinstance(item, Mapping) else "a list"
                    raise ValueError(f"{str(key)[:64]!r} is {kind}; context values are text, numbers, true/false "
                                     "or null (templates show one value per token)")
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"{str(key)[:64]!r} is not a finite number")
        return value

    @model_validator(mode="after")
    def _no_repeats(self) -> TriggerRequest:
        seen: dict[Any, int] = {}
        for i, r in enumerate(self.recipients):
            key = ("profile_id", r.profile_id) if r.profile_id is not None else ("address", (r.address or "").lower())
            if key in seen:
                raise ValueError(f"recipients {seen[key]} and {i} are the same ({key[0]} {key[1]}); list each once")
            seen[key] = i
        return self


RecipientStatus = Literal["sent", "excluded", "error", "rejected"]


class RecipientResult(BaseModel):
    index: int = Field(description="position in the call's recipients")
    profile_id: int | None = Field(description="the profile it resolved to (null if none)")
    address: str | None = Field(default=None, description="the address as given, if one was")
    status: RecipientStatus
    reason: str | None = Field(default=None, description=(
        "excluded: suppressed, no_address, no_consent or frequency_cap; error: the provider's reason; "
        "rejected: unknown_profile, unknown_address or duplicate"))


class TriggerCounts(BaseModel):
    sent: int
    excluded: int
    error: int
    rejected: int


class TriggerResponse(BaseModel):
    campaign_id: int
    run_id: int | None = Field(description="the run recording this call (null when no recipient was a profile)")
    triggered_at: UtcTime = Field(description="UTC")
    replayed: bool = Field(default=False, description="true: the stored answer to an earlier call with this "
                                                      "Idempotency-Key; nothing was sent again")
    counts: TriggerCounts
    missing_context: list[str] = Field(default_factory=list, description=(
        "context keys the content uses, without a fallback, that the call did not give (rendered empty)"))
    results: list[RecipientResult]


# ---- the service ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    campaign: Campaign
    config: ChannelConfig | None


@dataclass
class _Profiles:
    """The profile frame of one revision and what lookups need, built once per revision."""

    revision: int
    frame: pl.DataFrame
    ids: np.ndarray  # profile ids, sorted
    rows: np.ndarray | None  # frame row of each sorted id (None: the frame is sorted already)
    frame_ids: np.ndarray  # profile id of each frame row
    reasons: dict[Channel, tuple[np.ndarray, list[str | None]]] = field(default_factory=dict)  # codes, names
    addresses: dict[Channel, tuple[pl.Series, np.ndarray]] = field(default_factory=dict)
    renderers: dict[tuple[int, int, str], templates.RowRenderer] = field(default_factory=dict)
    coded: dict[str, tuple[np.ndarray, list[str | None]]] = field(default_factory=dict)

    def texts(self, column: str, rows: np.ndarray) -> list[str | None]:
        """`column`'s values at frame `rows` as text, through codes kept per column: a group's
        lookups in NumPy rather than three Polars calls (the sandbox wants tier and country)."""
        found = self.coded.get(column)
        if found is None:
            found = self.coded[column] = _encode(self.frame.get_column(column))  # a race builds it twice: harmless
        codes, names = found
        return [names[c] for c in codes[rows].tolist()]


def _encode(values: pl.Series) -> tuple[np.ndarray, list[str | None]]:
    """(a code per value, the text of each code; code 0 is null), for lookups by row in NumPy."""
    text = values.cast(pl.String)
    names: list[str | None] = [None, *sorted(text.drop_nulls().unique().to_list())]
    codes = text.replace_strict(names[1:], list(range(1, len(names))), default=0, return_dtype=pl.Int32)
    return codes.to_numpy(), names


@dataclass
class _Write:
    """One call's rows, waiting to be committed with others (plain tuples: the group builds frames)."""

    run: tuple[Any, ...] | None  # api_rows.RUN_COLUMNS
    simulate: tuple[_Profiles, np.ndarray, Channel, Purpose, np.ndarray] | None  # profiles, rows, ..., sent_at
    excluded: list[tuple[int, str]]  # (profile id, reason)
    handed: pl.DataFrame | None  # a real provider's events
    record: tuple[Any, ...] | None  # api_rows.RECORD_COLUMNS
    done: bool = False
    error: BaseException | None = None
    done_callback: Callable[[BaseException | None], None] | None = None


@dataclass
class PreparedGroup:
    """Calls' rows as Arrow tables, ready for one transaction (None: preparing failed)."""

    writes: list[_Write]
    tables: dict[str, pa.Table] | None


@dataclass
class Pending:
    """A call checked and handed to its provider, its rows not yet committed (see Triggers.begin)."""

    response: TriggerResponse
    write: _Write | None  # None: nothing to write (a replayed answer)
    slot: tuple[int, int, str] | None  # (API key, campaign, Idempotency-Key) held until release()
    record: tuple[str, str] | None  # (request hash, answer) to remember once committed


class _Committer:
    """The store's one committing thread: takes every queued call, writes them in one transaction
    (a DuckDB commit costs milliseconds, a call's rows microseconds), then tells each caller. It
    stops after a while without work and starts again on the next call."""

    IDLE_SECONDS = 30.0

    def __init__(self) -> None:
        self.triggers: weakref.ref[Triggers] | None = None  # the latest caller's (it waits, so it lives)
        self.queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def put(self, triggers: Triggers, write: _Write) -> None:
        self.triggers = weakref.ref(triggers)
        self.queue.put(write)
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="herald-trigger-commits", daemon=True)
                self.thread.start()

    def _loop(self) -> None:
        while True:
            try:
                first = self.queue.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self.lock:
                    if self.queue.empty():
                        self.thread = None
                        return
                continue
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            triggers = self.triggers() if self.triggers is not None else None
            if triggers is None:  # nobody waits any more: the workspace is gone
                continue
            triggers._commit_group(group)
            for write in group:
                if write.done_callback is not None:
                    try:
                        write.done_callback(write.error)
                    except Exception:  # noqa: BLE001 - a caller gone away must not stop the others
                        log.exception("a trigger's completion callback failed")


class _Seen:
    """Which (API key, campaign, Idempotency-Key) slots have a stored answer: a Bloom filter over
    every record (read once from the store, then kept up to date as answers are remembered). A new
    key - what nearly every call carries - is then known to be new without a query; a "maybe" (a
    used key, or a 1-in-1000 false positive) is looked up in the store."""

    HASHES = 10
    BITS_PER_SLOT = 15  # about 0.1% false positives at capacity

    def __init__(self, slots: list[tuple[int, int, str]]) -> None:
        self.capacity = max(1 << 16, 4 * len(slots))
        self.bits = self.capacity * self.BITS_PER_SLOT
        self.array = np.zeros((self.bits + 7) // 8, dtype=np.uint8)
        self.count = 0
        for slot in slots:
            self.add(slot)

    def _positions(self, slot: tuple[int, int, str]) -> list[int]:
        digest = hashlib.blake2b(f"{slot[0]}\x1f{slot[1]}\x1f{slot[2]}".encode(), digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.HASHES)]

    def add(self, slot: tuple[int, int, str]) -> None:
        array = self.array
        for p in self._positions(slot):
            array[p >> 3] |= 1 << (p & 7)
        self.count += 1

    def maybe(self, slot: tuple[int, int, str]) -> bool:
        array = self.array
        return all(array[p >> 3] & (1 << (p & 7)) for p in self._positions(slot))

    @property
    def full(self) -> bool:
        return self.count > self.capacity


class _State:
    """What every Triggers on one store shares: profiles, group commits, idempotency bookkeeping."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.profiles: _Profiles | None = None
        self._committer: _Committer | None = None
        self.last_due: dict[int, datetime] = {}
        self.due_lock = threading.Lock()
        self.run_ids: list[int] = []
        self.inflight: dict[tuple[int, int, str], threading.Event] = {}
        self.records: OrderedDict[tuple[int, int, str], tuple[str, str]] = OrderedDict()
        self.seen: _Seen | None = None

    def committer(self) -> _Committer:
        with self.lock:
            if self._committer is None:
                self._committer = _Committer()
            return self._committer


_STATES: weakref.WeakKeyDictionary[Store, _State] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


class Triggers:
    def __init__(self, store: Store, audiences: Audiences, delivery: Delivery, clock: Clock = utc_now) -> None:
        self.store, self.audiences, self.delivery, self.clock = store, audiences, delivery, clock
        with _STATES_LOCK:
            self._state = _STATES.setdefault(store, _State())

    # ---- the call ------------------------------------------------------------------------------------

    def trigger(
        self, key: ApiKey, campaign_id: int, request: TriggerRequest | Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> TriggerResponse:
        """Send campaign `campaign_id` to the call's recipients (see the module docstring); returns
        once the run and its events are committed."""
        pending = self.begin(key, campaign_id, request, idempotency_key)
        try:
            if pending.write is not None:
                done = threading.Event()
                failure: list[BaseException | None] = []
                self.commit(pending, lambda error: (failure.append(error), done.set()))
                if not done.wait(COMMIT_WAIT_SECONDS):
                    raise HeraldError("The call could not be recorded in time; its outcome is unknown. Retry it "
                                      "with the same Idempotency-Key.")
                if failure[0] is not None:
                    raise _not_recorded(failure[0])
            return self.end(pending)
        finally:
            self.release(pending)

    def begin(
        self, key: ApiKey, campaign_id: int, request: TriggerRequest | Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Pending:
        """Everything up to the commit: checks, recipients, exclusions, rendering, the provider's
        answer. Pair with `commit` (when `write` is set), then `end`, and always `release`."""
        roles.require(key.role, Action.TRIGGER, who=key.label)
        body = request if isinstance(request, TriggerRequest) else parse(TriggerRequest, request)
        if idempotency_key is None:
            return self._send(key, campaign_id, body, None)
        if not IDEMPOTENCY_KEY_RE.match(idempotency_key):
            raise InvalidInput({"Idempotency-Key": "use 1 to 255 printable ASCII characters without spaces, "
                                                   "such as a UUID"})
        slot = (key.id, campaign_id, idempotency_key)
        request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        self._claim(slot)
        try:
            stored = self._record(slot)
            if stored is not None:
                if stored[0] != request_hash:
                    raise InvalidInput({"Idempotency-Key": (
                        f"{idempotency_key!r} was already used for campaign {campaign_id} with a different "
                        "body; send a new key for a new request, or the same body to get the first answer")})
                replay = TriggerResponse.model_validate_json(stored[1]).model_copy(update={"replayed": True})
                return Pending(replay, None, slot, None)
            return self._send(key, campaign_id, body, (slot, request_hash))
        except BaseException:
            self._release(slot)
            raise

    def commit(self, pending: Pending, done: Callable[[BaseException | None], None]) -> None:
        """Queue the call's rows for the committer thread, which writes every queued call in one
        transaction and then calls `done(None)` (or `done(error)`: nothing of that call was written)."""
        assert pending.write is not None
        pending.write.done_callback = done
        self._state.committer().put(self, pending.write)

    def commit_now(self, pendings: list[Pending]) -> None:
        """Commit these calls' rows in this thread, in one transaction; each call's `error` then
        says whether it was written (None) or not: `prepare_group` then `store_group` in one go, for
        a caller that batches on its own in one thread (tests/calls_support.py). The REST API runs
        the two halves on different threads (api/routes.py)."""
        self._commit_group([p.write for p in pendings if p.write is not None])

    def quick(self, campaign_id: int) -> bool:
        """Whether `begin` for this campaign needs nothing but memory right now: its campaign and
        profiles are loaded, it sends through the sandbox and no frequency cap must be queried. An
        event loop may then run it inline; otherwise it belongs on a worker thread."""
        target = self.store.peek(f"triggers.target.{campaign_id}", past_deliveries=True)
        if not isinstance(target, _Target) or target.config is None or target.config.provider is not Provider.SANDBOX:
            return False
        profiles = self._state.profiles
        revision = self.store.peek("triggers.profiles_revision", past_deliveries=True)
        if profiles is None or revision is None or profiles.revision != revision:
            return False
        caps = self.store.peek("triggers.caps", past_deliveries=True)
        return target.campaign.spec.purpose is not Purpose.MARKETING or (
            isinstance(caps, dict) and caps.get(target.campaign.spec.channel) is None)

    def end(self, pending: Pending) -> TriggerResponse:
        """After a successful commit: remember the answer for retries; the call's response."""
        if pending.slot is not None and pending.record is not None:
            self._remember(pending.slot, pending.record)
        return pending.response

    def release(self, pending: Pending) -> None:
        """Let the next call with the same Idempotency-Key in (after `end`, or on any failure)."""
        if pending.slot is not None:
            self._release(pending.slot)

    def _send(
        self, key: ApiKey, campaign_id: int, body: TriggerRequest, idempotency: tuple[tuple[int, int, str], str] | None
    ) -> Pending:
        now = self.clock()
        target = self._target(campaign_id)
        campaign, config = target.campaign, target.config
        spec = campaign.spec
        _check_triggerable(campaign, config, now)
        assert config is not None and spec.content is not None
        channel = spec.channel
        profiles = self._profiles()
        address_column = _ADDRESS_COLUMN.get(channel)
        problems = {f"recipients.{i}.address": f"{channel.label} messages go to profiles: give profile_id"
                    for i, r in enumerate(body.recipients) if r.address is not None and address_column is None}
        if problems:
            raise InvalidInput(problems)

        rows = self._resolve(profiles, channel, body)  # frame row per recipient (-1: unknown)
        results: list[RecipientResult] = []
        by_row: dict[int, int] = {}
        targeted: list[tuple[int, int, str | None]] = []  # (result index, row, exclusion reason)
        reason_codes, reason_names = self._reasons(profiles, channel)
        for i, (recipient, row) in enumerate(zip(body.recipients, rows)):
            if row < 0:
                why = "unknown_profile" if recipient.profile_id is not None else "unknown_address"
                results.append(RecipientResult(index=i, profile_id=recipient.profile_id, address=recipient.address,
                                               status="rejected", reason=why))
                continue
            profile_id = int(profiles.frame_ids[row])
            if row in by_row:
                results.append(RecipientResult(index=i, profile_id=profile_id, address=recipient.address,
                                               status="rejected", reason="duplicate"))
                continue
            by_row[row] = i
            results.append(RecipientResult(index=i, profile_id=profile_id, address=recipient.address,
                                           status="sent"))
            targeted.append((i, row, reason_names[reason_codes[row]]))
        targeted = self._capped(spec.purpose, channel, targeted, results, now)

        run_id = self._run_id() if targeted else None
        excluded = [(results[i].profile_id or 0, why) for i, _, why in targeted if why is not None]
        outgoing = [(i, row) for i, row, why in targeted if why is None]
        for i, _, why in targeted:
            if why is not None:
                results[i] = results[i].model_copy(update={"status": "excluded", "reason": why})
        finished, simulate, handed = now, None, None
        if outgoing:
            assert run_id is not None
            out_rows = [row for _, row in outgoing]
            body_text = self._renderer(profiles, campaign, "body").render(out_rows, body.context)
            subject = (self._renderer(profiles, campaign, "subject").render(out_rows, body.context)
                       if spec.content.subject else None)
            if config.provider is Provider.SANDBOX:
                ids = np.array([results[i].profile_id for i, _ in outgoing], dtype=np.int64)
                for (i, _), failed in zip(outgoing, sandbox.errors(ids, run_id).tolist()):
                    if failed:
                        results[i] = results[i].model_copy(update={"status": "error", "reason": sandbox.ERROR_REASON})
                sent_at = sandbox.send_times(now, len(outgoing), config.throttle_per_second)
                simulate = (profiles, np.array(out_rows, dtype=np.int64), channel, spec.purpose, sent_at)
                finished = now + timedelta(seconds=len(outgoing) / config.throttle_per_second)
            else:
                handed = self._hand_off(config, profiles, outgoing, results, channel, subject, body_text, run_id,
                                        campaign)
                finished = self.clock()
        counts = {status: 0 for status in ("sent", "excluded", "error", "rejected")}
        for result in results:
            counts[result.status] += 1
        response = TriggerResponse(
            campaign_id=campaign.id, run_id=run_id, triggered_at=now, counts=TriggerCounts(**counts),
            missing_context=[k for k in self._needed_context(campaign) if k not in body.context], results=results,
        )
        run = None
        if run_id is not None:
            run = (run_id, campaign.id, campaign.version, channel.value, now, "finished", now, now, finished,
                   len(targeted), len(targeted), key.id)
        answer = response.model_dump_json()
        record, slot = None, None
        if idempotency is not None:
            (key_id, cid, idem), request_hash = idempotency
            slot, record = idempotency[0], (key_id, cid, idem, request_hash, run_id, answer, now)
        write = _Write(run, simulate, excluded, handed, record) if run is not None or record is not None else None
        return Pending(response, write, slot, (record[3], answer) if record is not None else None)

    # ---- reading, memoised across delivery commits ---------------------------------------------------

    def _target(self, campaign_id: int) -> _Target:
        def load() -> _Target:
            cur = self.store.cursor()
            campaign = campaign_rows.fetch_campaign(cur, campaign_id)
            if campaign is None:
                raise NotFound(f"There is no campaign {campaign_id}.")
            config_id = campaign.spec.channel_config_id
            return _Target(campaign, ws.channel_config(cur, config_id) if config_id is not None else None)

        return self.store.memo(f"triggers.target.{campaign_id}", load, past_deliveries=True)

    def _profiles(self) -> _Profiles:
        state = self._state
        revision = self.store.memo("triggers.profiles_revision",
                                   lambda: audience_rows.profiles_revision(self.store.cursor()), past_deliveries=True)
        current = state.profiles
        if current is not None and current.revision == revision:
            return current
        with state.lock:
            current = state.profiles
            if current is None or current.revision != revision:
                frame = self.audiences.profiles()
                ids = frame.get_column("profile_id").to_numpy()
                order = None if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])) else np.argsort(ids, kind="stable")
                current = _Profiles(revision, frame, ids if order is None else ids[order], order, ids)
                state.profiles = current
            return current

    def _resolve(self, profiles: _Profiles, channel: Channel, body: TriggerRequest) -> list[int]:
        rows = [-1] * len(body.recipients)
        by_id = [(i, r.profile_id) for i, r in enumerate(body.recipients) if r.profile_id is not None]
        if by_id:
            wanted = np.array([pid for _, pid in by_id], dtype=np.int64)
            pos = np.searchsorted(profiles.ids, wanted)
            for (i, pid), p in zip(by_id, pos.tolist()):
                if p < len(profiles.ids) and int(profiles.ids[p]) == pid:
                    rows[i] = int(profiles.rows[p]) if profiles.rows is not None else p
        by_address = [(i, r.address) for i, r in enumerate(body.recipients) if r.address is not None]
        if by_address:
            keys, key_rows = self._addresses(profiles, channel)
            for i, address in by_address:
                wanted = _address_key(channel, address or "")
                p = int(keys.search_sorted(wanted, side="left"))
                if p < len(keys) and keys[p] == wanted:
                    rows[i] = int(key_rows[p])
        return rows

    def _addresses(self, profiles: _Profiles, channel: Channel) -> tuple[pl.Series, np.ndarray]:
        found = profiles.addresses.get(channel)
        if found is None:
            column = _ADDRESS_COLUMN[channel]
            value = pl.col(column).str.to_lowercase() if channel is Channel.EMAIL else pl.col(column).str.replace_all(
                r"\s", "")
            table = profiles.frame.select(value.alias("key"), pl.int_range(pl.len(), dtype=pl.Int64).alias("row")) \
                .drop_nulls("key").sort(["key", "row"])
            found = (table.get_column("key"), table.get_column("row").to_numpy())
            with self._state.lock:
                profiles.addresses[channel] = found
        return found

    def _reasons(self, profiles: _Profiles, channel: Channel) -> tuple[np.ndarray, list[str | None]]:
        """Each profile's exclusion reason on `channel` (None: reachable), the run's own expression,
        as a code per frame row and the reason of each code (a call looks rows up in NumPy)."""
        found = profiles.reasons.get(channel)
        if found is None:
            found = _encode(profiles.frame.select(exclusion_reason(channel)).to_series())
            with self._state.lock:
                profiles.reasons[channel] = found
        return found

    def _renderer(self, profiles: _Profiles, campaign: Campaign, part: str) -> templates.RowRenderer:
        key = (campaign.id, campaign.version, part)
        found = profiles.renderers.get(key)
        if found is None:
            content = campaign.spec.content
            assert content is not None
            found = templates.RowRenderer(content.body if part == "body" else content.subject or "", profiles.frame)
            with self._state.lock:
                if len(profiles.renderers) >= 256:
                    profiles.renderers.clear()
                profiles.renderers[key] = found
        return found

    def _needed_context(self, campaign: Campaign) -> list[str]:
        """Context keys the content reads without a fallback (memoised with the campaign)."""
        def load() -> list[str]:
            content = campaign.spec.content
            tokens = (templates.tokens(content.body) + templates.tokens(content.subject or "")) if content else []
            return sorted({t.name for t in tokens if t.source == "context" and t.fallback is None})

        return self.store.memo(f"triggers.context.{campaign.id}.{campaign.version}", load, past_deliveries=True)

    def _capped(
        self, purpose: Purpose, channel: Channel, targeted: list[tuple[int, int, str | None]],
        results: list[RecipientResult], now: datetime,
    ) -> list[tuple[int, int, str | None]]:
        """The frequency cap, for marketing messages only: a transactional message (a password reset,
        an order confirmation) is what the person asked for and is never held back by a cap."""
        if purpose is not Purpose.MARKETING:
            return targeted
        caps = self.store.memo("triggers.caps", lambda: {c: frequency_cap(self.store, c) for c in Channel},
                               past_deliveries=True)
        cap = caps.get(channel)
        reachable = [results[i].profile_id for i, _, why in targeted if why is None]
        if cap is None or not reachable:
            return targeted
        since = now - timedelta(days=cap.days)
        sends = api_rows.recent_sends_of(self.store.cursor(), channel.value, since, reachable)
        return [(i, row, "frequency_cap" if why is None and sends.get(results[i].profile_id or 0, 0) >= cap.messages
                 else why) for i, row, why in targeted]

    # ---- handing off ---------------------------------------------------------------------------------

    def _hand_off(
        self, config: ChannelConfig, profiles: _Profiles, outgoing: list[tuple[int, int]],
        results: list[RecipientResult], channel: Channel, subject: list[str] | None, body: list[str], run_id: int,
        campaign: Campaign | None = None,
    ) -> pl.DataFrame:
        """A real provider (SMTP, webhook), through the run pipeline's own hand-off."""
        rows = [row for _, row in outgoing]
        ids = [results[i].profile_id for i, _ in outgoing]
        column = _ADDRESS_COLUMN.get(channel)
        to = (profiles.frame.get_column(column).gather(rows).to_list() if column
              else [str(pid) for pid in ids])
        messages = pl.DataFrame({
            "profile_id": pl.Series(ids, dtype=pl.Int64), "to": pl.Series(to, dtype=pl.String),
            "subject": pl.Series(subject if subject is not None else [None] * len(ids), dtype=pl.String),
            "body": pl.Series(body, dtype=pl.String),
            "message_id": [f"run{run_id}-{pid}" for pid in ids],
        })
        email = getattr(self.delivery, "_email", None)  # HTML and tracking, as a run's SMTP messages get
        if config.provider is Provider.SMTP and callable(email) and campaign is not None and campaign.spec.content:
            messages = email(messages, {"id": run_id, "campaign_id": campaign.id, "version": campaign.version},
                             config, campaign.spec.content)
        events = self.delivery._hand_off(config, messages)
        outcome = {int(r["profile_id"]): r for r in events.filter(pl.col("event").is_in(["sent", "error"])).to_dicts()}
        for i, _ in outgoing:
            found = outcome.get(results[i].profile_id or 0)
            if found is None or found["event"] == "error":
                why = (found or {}).get("reason") or "no answer from the provider"
                results[i] = results[i].model_copy(update={"status": "error", "reason": why})
        return events

    # ---- committing ----------------------------------------------------------------------------------

    def _run_id(self) -> int:
        state = self._state
        with state.lock:
            if not state.run_ids:
                state.run_ids = api_rows.reserve_run_ids(self.store.cursor(), 256)
            return state.run_ids.pop(0)

    def _commit_group(self, group: list[_Write]) -> None:
        """Never raises: a group that fails is retried call by call, so one bad call fails alone."""
        self.store_group(self.prepare_group(group))

    def prepare_group(self, group: list[_Write]) -> PreparedGroup:
        """The group's rows as Arrow tables (Python work: due times, the sandbox's simulation)."""
        try:
            return PreparedGroup(group, self._prepare(group))
        except Exception:  # noqa: BLE001 - store_group retries call by call
            return PreparedGroup(group, None)

    def store_group(self, prepared: PreparedGroup) -> None:
        """Write a prepared group in one transaction (any thread; mostly DuckDB work, which lets
        other threads run). Never raises: each call's `error` says whether it was written."""
        group = prepared.writes
        if prepared.tables is not None:
            try:
                self._store(prepared.tables)
            except Exception as exc:  # noqa: BLE001 - reported to each caller below
                if len(group) == 1:
                    group[0].error = exc
                    group[0].done = True
                    return
            else:
                for write in group:
                    write.done = True
                return
        if len(group) == 1 and prepared.tables is None:
            try:
                self._store(self._prepare(group))
            except Exception as exc:  # noqa: BLE001
                group[0].error = exc
            group[0].done = True
            return
        for write in group:  # one bad call must not fail the others
            self.store_group(self.prepare_group([write]))

    def _store(self, tables: dict[str, pa.Table]) -> None:
        with self.store.transaction(deliveries_only=True) as cur:
            api_rows.insert_frames(cur, tables)

    def _write(self, group: list[_Write]) -> None:
        self._store(self._prepare(group))

    def _prepare(self, group: list[_Write]) -> dict[str, pa.Table]:
        state = self._state
        runs: list[tuple[Any, ...]] = []
        meta: dict[int, tuple[int, int, str, datetime]] = {}  # run id -> campaign, version, channel, at
        with state.due_lock:  # both writers (the committer thread, an event loop) take due times here
            for write in group:
                if write.run is None:
                    continue
                run = list(write.run)
                run_id, cid, version, channel, at = run[:5]
                last = state.last_due.get(cid)
                if last is None:
                    last = api_rows.last_due(self.store.cursor(), cid)
                due = at if last is None or at > last else last + timedelta(microseconds=1)
                state.last_due[cid] = run[4] = due  # unique (campaign, due_at), as the runs table wants
                runs.append(tuple(run))
                meta[run_id] = (cid, version, channel, at)
        events = _Events()
        self._simulated([w for w in group if w.simulate is not None and w.run is not None], meta, events)
        for write in group:
            if write.run is None:
                continue
            cid, version, channel, at = meta[write.run[0]]
            for profile_id, why in write.excluded:
                events.add(write.run[0], cid, version, profile_id, channel, "excluded", None, why, at)
            if write.handed is not None and write.handed.height:
                events.frames.append(write.handed.select(
                    pl.lit(write.run[0], pl.Int32).alias("run_id"), pl.lit(cid, pl.Int32).alias("campaign_id"),
                    pl.lit(version, pl.Int32).alias("version"), pl.col("profile_id").cast(pl.Int64),
                    pl.lit(channel, pl.String).alias("channel"), "event", "bounce", "reason", "occurred_at"))
        tables: dict[str, pa.Table] = {}
        if runs:
            tables["runs"] = _table(runs, _RUN_TYPES)
        if events.rows or events.columns or events.frames:
            tables["delivery_events"] = events.table()
        records = [w.record for w in group if w.record is not None]
        if records:
            tables["api_triggers"] = _table(records, _RECORD_TYPES)
        return tables

    @staticmethod
    def _simulated(writes: list[_Write], meta: dict[int, tuple[int, int, str, datetime]], events: _Events) -> None:
        """The sandbox's events for every sandbox call of the group: one simulation per (profile
        frame, channel, purpose), identical to simulating each run alone."""
        groups: dict[tuple[int, Channel, Purpose], list[_Write]] = {}
        for write in writes:
            assert write.simulate is not None
            profiles, _, channel, purpose, _ = write.simulate
            groups.setdefault((id(profiles), channel, purpose), []).append(write)
        run_ids_sorted = np.array(sorted(meta), dtype=np.int64)
        campaign_of = np.array([meta[r][0] for r in run_ids_sorted.tolist()], dtype=np.int32)
        version_of = np.array([meta[r][1] for r in run_ids_sorted.tolist()], dtype=np.int32)
        for (_, channel, purpose), members in groups.items():
            profiles = members[0].simulate[0]  # type: ignore[index]
            rows = np.concatenate([w.simulate[1] for w in members])  # type: ignore[index]
            run_ids = np.concatenate([np.full(len(w.simulate[1]), w.run[0]) for w in members])  # type: ignore[index]
            sent_at = np.concatenate([w.simulate[4] for w in members])  # type: ignore[index]
            columns = sandbox.simulate_columns(
                profiles.frame_ids[rows], profiles.texts("loyalty_tier", rows), profiles.texts("country", rows),
                run_ids, channel, purpose, sent_at)
            run_of = columns["run_id"]
            at = np.searchsorted(run_ids_sorted, run_of)  # each event's run in the group's runs
            events.columns.append({
                "run_id": run_of, "campaign_id": campaign_of[at], "version": version_of[at],
                "profile_id": columns["profile_id"], "channel": channel.value,
                "event": columns["event"], "bounce": columns["bounce"], "reason": columns["reason"],
                "occurred_at": columns["occurred_at"],
            })

    # ---- idempotency ---------------------------------------------------------------------------------

    def _claim(self, slot: tuple[int, int, str]) -> None:
        """Be the one call working on this Idempotency-Key, waiting for an earlier one to finish."""
        state = self._state
        waited = 0.0
        while True:
            with state.lock:
                running = state.inflight.get(slot)
                if running is None:
                    state.inflight[slot] = threading.Event()
                    return
            if waited >= IDEMPOTENCY_WAIT_SECONDS:
                raise Conflict(f"A call with Idempotency-Key {slot[2]!r} is still being processed; retry later.")
            running.wait(1.0)
            waited += 1.0

    def _release(self, slot: tuple[int, int, str]) -> None:
        with self._state.lock:
            done = self._state.inflight.pop(slot, None)
        if done is not None:
            done.set()

    def _record(self, slot: tuple[int, int, str]) -> tuple[str, str] | None:
        with self._state.lock:
            found = self._state.records.get(slot)
        if found is not None:
            return found
        if not self._seen().maybe(slot):
            return None
        return api_rows.record(self.store.cursor(), *slot)

    def _seen(self) -> _Seen:
        state = self._state
        seen = state.seen
        if seen is None or seen.full:
            with state.lock:
                if state.seen is None or state.seen.full:  # (re)built from every stored record
                    state.seen = _Seen(api_rows.record_slots(self.store.cursor()))
                seen = state.seen
        return seen

    def warm(self) -> None:
        """Read what calls need (profile index, used Idempotency-Keys) now, not on the first call."""
        self._profiles()
        self._seen()

    def _remember(self, slot: tuple[int, int, str], record: tuple[str, str]) -> None:
        seen = self._seen()
        with self._state.lock:
            seen.add(slot)
            records = self._state.records
            records[slot] = record
            while len(records) > RECORDS_KEPT:
                records.popitem(last=False)


_RUN_TYPES = {
    "id": pa.int32(), "campaign_id": pa.int32(), "version": pa.int32(), "channel": pa.string(),
    "due_at": pa.timestamp("us"), "status": pa.string(), "created_at": pa.timestamp("us"),
    "started_at": pa.timestamp("us"), "finished_at": pa.timestamp("us"), "total": pa.int64(),
    "processed": pa.int64(), "api_key_id": pa.int32(),
}
_RECORD_TYPES = {
    "api_key_id": pa.int32(), "campaign_id": pa.int32(), "idempotency_key": pa.string(),
    "request_hash": pa.string(), "run_id": pa.int32(), "response": pa.string(), "created_at": pa.timestamp("us"),
}
assert tuple(_RUN_TYPES) == api_rows.RUN_COLUMNS and tuple(_RECORD_TYPES) == api_rows.RECORD_COLUMNS
_EVENT_TYPES = {
    "run_id": pa.int32(), "campaign_id": pa.int32(), "version": pa.int32(), "profile_id": pa.int64(),
    "channel": pa.string(), "event": pa.string(), "bounce": pa.string(), "reason": pa.string(),
    "occurred_at": pa.timestamp("us"),
}
assert tuple(_EVENT_TYPES) == delivery_rows.EVENT_COLUMNS
_EVENT_SCHEMA = pa.schema(list(_EVENT_TYPES.items()))
_NAMES = {"event": np.array(sandbox.EVENT_NAMES, dtype=object), "bounce": np.array(sandbox.BOUNCE_NAMES, dtype=object),
          "reason": np.array(sandbox.REASON_NAMES, dtype=object)}


_EPOCH, _MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)


def _table(rows: list[tuple[Any, ...]], types: dict[str, pa.DataType]) -> pa.Table:
    """Rows of Python values as an Arrow table of `types` (no DataFrame in between: a group is small).
    Times go in as integer microseconds: Arrow converts ints several times faster than datetimes."""
    arrays = []
    for values, kind in zip(zip(*rows), types.values()):
        if pa.types.is_timestamp(kind):
            micros = [None if v is None else (v - _EPOCH) // _MICROSECOND for v in values]
            arrays.append(pa.array(micros, type=pa.int64()).view(kind))
        else:
            arrays.append(pa.array(values, type=kind))
    return pa.Table.from_arrays(arrays, names=list(types))


class _Events:
    """A group's delivery events: simulated ones as NumPy columns (codes for the text), a real
    provider's as its events frame, exclusions as rows."""

    def __init__(self) -> None:
        self.columns: list[dict[str, Any]] = []
        self.frames: list[pl.DataFrame] = []
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def table(self) -> pa.Table:
        tables = [_table(self.rows, _EVENT_TYPES)] if self.rows else []
        tables += [frame.to_arrow().cast(_EVENT_SCHEMA) for frame in self.frames]
        for part in self.columns:
            n = len(part["profile_id"])
            arrays = {}
            for name, kind in _EVENT_TYPES.items():
                value = part[name]
                if name in _NAMES:
                    codes = value
                    missing = codes < 0
                    arrays[name] = pa.array(_NAMES[name][np.where(missing, 0, codes)], type=kind, mask=missing)
                elif isinstance(value, str):
                    arrays[name] = pa.array([value] * n, type=kind)
                else:
                    arrays[name] = pa.array(value, type=kind)
            tables.append(pa.table(arrays))
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _not_recorded(error: BaseException) -> HeraldError:
    found = HeraldError(f"The call's outcome could not be recorded ({error}); nothing of it was written.")
    found.__cause__ = error
    return found


def _check_triggerable(campaign: Campaign, config: ChannelConfig | None, now: datetime) -> None:
    spec = campaign.spec
    name = f"Campaign {campaign.id} ({spec.name!r})"
    if spec.type is not CampaignType.API_TRIGGERED:
        raise Conflict(f"{name} is a scheduled campaign; only API-triggered campaigns can be triggered.")
    schedule = spec.schedule
    start = (schedule.start_utc() if schedule else None) or campaign.live_at
    end = schedule.end_utc() if schedule else None
    if campaign.status is not Status.LIVE:
        when = f" It accepts calls from {start:%Y-%m-%d %H:%M} UTC." if (
            campaign.status is Status.SCHEDULED and start) else ""
        raise Conflict(f"{name} is {campaign.status.label}, not Live: it accepts no calls now.{when}")
    if start is not None and now < start:
        raise Conflict(f"{name} accepts calls from {start:%Y-%m-%d %H:%M} UTC; it is {now:%Y-%m-%d %H:%M} UTC.")
    if end is not None and now >= end:
        raise Conflict(f"{name} accepted calls until {end:%Y-%m-%d %H:%M} UTC; its window has ended.")
    if config is None:
        raise Conflict(f"{name} has no channel configuration any more.")
    if not config.enabled:
        raise Conflict(f"{name} sends through “{config.name}”, which is disabled; an Administrator can enable it.")


def _address_key(channel: Channel, address: str) -> str:
    return address.strip().lower() if channel is Channel.EMAIL else re.sub(r"\s", "", address)


def context_keys(campaign: Campaign) -> list[str]:
    """The context keys a campaign's content reads (what a caller should send)."""
    content = campaign.spec.content
    if content is None:
        return []
    return sorted(templates.context_keys(content.body) | templates.context_keys(content.subject or ""))


__all__ = [
    "MAX_RECIPIENTS", "Recipient", "RecipientResult", "TriggerCounts", "TriggerRequest", "TriggerResponse",
    "Triggers", "context_keys",
]
