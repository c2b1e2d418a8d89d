"""The endpoints of `/api/v1/`. Each one: authenticate the key, check its role, read and validate
the input, call core, answer JSON; every refusal is `{"error": ..., "problems": {...}}`.

Routes run outside any dashboard session: they take the process-wide workspace of HERALD_DB
(`Workspace.shared`), never Streamlit's caches. Reads run in worker threads (DuckDB and Polars
block). A trigger whose work is all in memory (`Triggers.quick`: a sandbox campaign whose campaign
and profiles are loaded) runs on the event loop, and its rows join a group that the loop turns
into Arrow tables and the store's writer thread commits (`_Batcher`); others (SMTP, webhook,
frequency-cap queries) run `begin` in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from core import roles
from core.api_keys import ApiKey
from core.api_reads import MAX_RUNS_PAGE
from core.enums import Action, CampaignType, Status
from core.errors import HeraldError, NotFound
from core.models import invalid_input
from core.triggers import Pending, TriggerRequest, Triggers
from core.workspace import Workspace

from api.errors import ApiError, error_response, from_exception
from api.openapi import MAX_BODY_BYTES, MAX_ID, PREFIX, document

log = logging.getLogger("herald.api")
T = TypeVar("T")
WorkspaceSource = Callable[[], Workspace]
WORKER_THREADS = 32
_JSON = "application/json"
# A call waits at most this long for others to join its commit: one DuckDB commit costs ~5 ms
# whatever its size, so under load a group of tens of calls shares it (bench/bench_api.py).
COMMIT_WINDOW_SECONDS = 0.005


class _AnyMethodRoute(Route):
    """A route that takes every method (its endpoint answers 405 as JSON), even ones Starlette does
    not list: Starlette's own 405 is plain text."""

    def __init__(self, path: str, endpoint: Callable[..., Any]) -> None:
        super().__init__(path, endpoint)
        self.methods = None  # type: ignore[assignment] - None: no method check here


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListQuery(_Query):
    status: Status | None = None
    type: CampaignType | None = None


class RunsQuery(_Query):
    limit: int = Field(default=100, ge=1, le=MAX_RUNS_PAGE)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class StatsQuery(_Query):
    run_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    day: date | None = None
    last_24h: bool = False


class Api:
    """The endpoints, bound to where the workspace comes from (the shared one, or a test's)."""

    def __init__(self, workspace: WorkspaceSource | None = None) -> None:
        self._source = workspace
        self._shared: Workspace | None = None
        self._batchers: dict[int, _Batcher] = {}
        self._limiter: anyio.CapacityLimiter | None = None
        self._openapi: bytes | None = None

    def routes(self) -> list[BaseRoute]:
        """One Mount: every path under /api/v1 answers JSON, unknown ones included."""
        paths: list[tuple[str, dict[str, Callable[[Request], Awaitable[Response]]]]] = [
            ("/openapi.json", {"GET": self.openapi}),
            ("/campaigns", {"GET": self.campaigns}),
            ("/campaigns/{campaign_id}", {"GET": self.campaign}),
            ("/campaigns/{campaign_id}/runs", {"GET": self.runs}),
            ("/campaigns/{campaign_id}/stats", {"GET": self.stats}),
            ("/campaigns/{campaign_id}/trigger", {"POST": self.trigger}),
            ("/{rest:path}", {}),
        ]
        # Every method reaches the endpoint, which answers 405 itself: as JSON, with an Allow header.
        return [Mount(PREFIX, routes=[_AnyMethodRoute(path, self._endpoint(methods)) for path, methods in paths])]

    # ---- endpoints --------------------------------------------------------------------------------

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            import json

            self._openapi = json.dumps(document(), separators=(",", ":")).encode()
        return Response(self._openapi, media_type=_JSON)

    async def campaigns(self, request: Request) -> Response:
        ws, key = await self._authenticated(request)
        query = _query(ListQuery, request)
        return _ok(await self._run(ws.api.campaigns, key, query.status, query.type))

    async def campaign(self, request: Request) -> Response:
        ws, key = await self._authenticated(request)
        campaign_id = _campaign_id(request)
        _query(_Query, request)
        return _ok(await self._run(ws.api.campaign, key, campaign_id))

    async def runs(self, request: Request) -> Response:
        ws, key = await self._authenticated(request)
        campaign_id = _campaign_id(request)
        query = _query(RunsQuery, request)
        return _ok(await self._run(ws.api.runs, key, campaign_id, query.limit, query.offset))

    async def stats(self, request: Request) -> Response:
        ws, key = await self._authenticated(request)
        campaign_id = _campaign_id(request)
        query = _query(StatsQuery, request)
        return _ok(await self._run(ws.api.stats, key, campaign_id, query.run_id, query.last_24h, query.day))

    async def trigger(self, request: Request) -> Response:
        ws, key = await self._authenticated(request)
        roles.require(key.role, Action.TRIGGER, who=key.label)  # before reading a body it would refuse anyway
        batcher = self._batcher(ws.triggers)
        batcher.in_flight += 1  # until its commit lands (the batcher counts it down) or it fails before
        try:
            pending = await self._begin(ws, key, request)
        except BaseException:
            batcher.in_flight -= 1
            raise
        if pending.write is None:
            batcher.in_flight -= 1
        return await self._finish(ws.triggers, batcher, pending)

    async def _begin(self, ws: Workspace, key: ApiKey, request: Request) -> Pending:
        campaign_id = _campaign_id(request)
        _query(_Query, request)
        kind = request.headers.get("content-type", _JSON).split(";")[0].strip().lower()
        if kind != _JSON and not kind.endswith("+json"):
            raise ApiError(415, f"Send the body as {_JSON}, not {kind or 'an empty type'}.")
        raw = await _body(request, MAX_BODY_BYTES)
        try:
            body = TriggerRequest.model_validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                detail = next(e["msg"] for e in exc.errors() if e["type"] == "json_invalid")
                raise ApiError(400, f"The body is not valid JSON ({detail}).", {"body": detail}) from None
            raise invalid_input(exc) from None
        triggers = ws.triggers
        idempotency_key = request.headers.get("idempotency-key")
        if triggers.quick(campaign_id):  # memory only (sandbox, nothing to query): no thread hand-off
            return triggers.begin(key, campaign_id, body, idempotency_key)
        return await self._run(triggers.begin, key, campaign_id, body, idempotency_key)

    async def _finish(self, triggers: Triggers, batcher: _Batcher, pending: Pending) -> Response:
        settled = False
        try:
            if pending.write is not None:
                committed = batcher.add(pending)
                try:
                    await asyncio.shield(committed)
                except asyncio.CancelledError:  # the client left: finish the bookkeeping when the commit lands
                    committed.add_done_callback(lambda _: _after(triggers, pending))
                    settled = True
                    raise
                if pending.write.error is not None:
                    raise HeraldError(f"The call's outcome could not be recorded ({pending.write.error}); nothing "
                                      "of it was written.") from pending.write.error
            answer = triggers.end(pending)
        finally:
            if not settled:
                triggers.release(pending)
        return _ok(answer, {"Idempotent-Replayed": "true"} if answer.replayed else None)

    def _batcher(self, triggers: Triggers) -> _Batcher:
        found = self._batchers.get(id(triggers.store))
        if found is None or found.triggers is not triggers:
            found = self._batchers[id(triggers.store)] = _Batcher(triggers)
        return found

    # ---- plumbing ---------------------------------------------------------------------------------

    def _endpoint(self, methods: dict[str, Callable[[Request], Awaitable[Response]]]) -> Callable[..., Any]:
        allowed = {**methods, **({"HEAD": methods["GET"]} if "GET" in methods else {})}

        async def endpoint(request: Request) -> Response:
            handler = allowed.get(request.method)
            try:
                if not methods:
                    raise ApiError(404, f"There is no {request.url.path}; see {PREFIX}/openapi.json.")
                if handler is None:
                    raise ApiError(405, f"{request.method} is not allowed on {request.url.path}.",
                                   headers={"Allow": ", ".join(sorted(allowed))})
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every refusal is JSON; anything else is a bug, logged
                found = from_exception(exc)
                if found is not None:
                    return found
                log.exception("API %s %s failed", request.method, request.url.path)
                return error_response(500, "Herald failed to answer this request; it has been logged.")

        return endpoint

    async def _authenticated(self, request: Request) -> tuple[Workspace, ApiKey]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        ws = self.workspace()
        plain = token.strip() if scheme.lower() == "bearer" else None
        return ws, ws.api_keys.authenticate(plain)

    def workspace(self) -> Workspace:
        """The workspace the routes act on (HERALD_DB's shared one unless a test gave another)."""
        if self._source is not None:
            return self._source()
        shared = self._shared
        if shared is None or shared.store.closed:  # HERALD_DB's, looked up once
            shared = self._shared = Workspace.shared()
        return shared

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(WORKER_THREADS)
        return await anyio.to_thread.run_sync(partial(call, *args), limiter=self._limiter)


class _Batcher:
    """Group commit: calls queue their rows; a group's rows are turned into Arrow tables on the
    loop (Python work, `Triggers.prepare_group`) and written in one transaction on the store's
    writer thread (`Triggers.store_group`: DuckDB work, which runs without the GIL while the loop
    goes on serving calls). One group is written at a time; the calls that arrive meanwhile form
    the next one, flushed as soon as the write lands.

    When a group starts while nothing is being written: as soon as it is as large as groups have
    lately been (an average that follows the load: a caller alone is committed at once) and no
    call in flight is still on its way, and at the latest COMMIT_WINDOW_SECONDS after its first call.

    The writer thread needs the GIL back after each DuckDB call; `lifespan` (api/app.py) shortens
    the interpreter's switch interval so the busy loop hands it over in a fraction of a millisecond
    rather than the default 5 ms."""

    def __init__(self, triggers: Triggers) -> None:
        self.triggers = triggers
        self.waiting: list[tuple[Pending, asyncio.Future[None]]] = []
        self.in_flight = 0  # trigger calls past authentication whose commit has not landed yet
        self.usual = 1.0  # recent group sizes (exponential average)
        self.timer: asyncio.TimerHandle | None = None
        self.soon = False
        self.writing = False  # a group is being written on the writer thread

    def add(self, pending: Pending) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((pending, future))
        if self.soon or self.writing:  # flushed when the write in progress lands
            return future
        if len(self.waiting) >= max(1.0, 0.9 * self.usual) and len(self.waiting) >= self.in_flight:
            self.soon = True
            loop.call_soon(self._flush)
        elif self.timer is None:
            self.timer = loop.call_later(COMMIT_WINDOW_SECONDS, self._flush)
        return future

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.soon = None, False
        if self.writing:
            return
        group, self.waiting = self.waiting, []
        self.in_flight -= len(group)
        if not group:
            return
        self.usual = 0.8 * self.usual + 0.2 * len(group)
        loop = asyncio.get_running_loop()
        try:
            prepared = self.triggers.prepare_group([p.write for p, _ in group if p.write is not None])
            written = loop.run_in_executor(_writer(), self.triggers.store_group, prepared)
        except BaseException:
            self._landed(group)
            raise
        self.writing = True
        written.add_done_callback(lambda _: self._landed(group))

    def _landed(self, group: list[tuple[Pending, asyncio.Future[None]]]) -> None:
        self.writing = False
        for pending, future in group:
            if pending.write is not None and not pending.write.done:
                pending.write.error = pending.write.error or HeraldError("the commit did not run")
            if not future.done():
                future.set_result(None)
        if self.waiting and not self.soon:  # they waited for this write: theirs starts now
            self.soon = True
            asyncio.get_running_loop().call_soon(self._flush)


_WRITER: ThreadPoolExecutor | None = None


def _writer() -> ThreadPoolExecutor:
    """The one thread that writes trigger groups (DuckDB: one connection, a cursor per call)."""
    global _WRITER
    if _WRITER is None:
        _WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="herald-trigger-writer")
    return _WRITER


def _after(triggers: Triggers, pending: Pending) -> None:
    try:
        if pending.write is None or pending.write.error is None:
            triggers.end(pending)
    finally:
        triggers.release(pending)


def _ok(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), media_type=_JSON, headers={"Cache-Control": "no-store", **(headers or {})})


def _campaign_id(request: Request) -> int:
    raw = str(request.path_params["campaign_id"])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        raise NotFound(f"There is no campaign {raw[:40]!r}: campaign ids are whole numbers from 1.")
    return int(raw)


M = TypeVar("M", bound=BaseModel)
_DEFAULTS: dict[type[BaseModel], BaseModel] = {}


def _query(model: type[M], request: Request) -> M:
    if not request.scope.get("query_string"):
        return _DEFAULTS.get(model) or _DEFAULTS.setdefault(model, model())  # type: ignore[return-value]
    params = request.query_params
    repeated = [k for k in params if len(params.getlist(k)) > 1]
    if repeated:
        raise ApiError(422, f"Give the query parameter {repeated[0]!r} once.", {repeated[0]: "given more than once"})
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise invalid_input(exc) from None


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "The Content-Length header is not a number.")
        if int(declared) > limit:
            raise ApiError(413, f"The body has {int(declared):,} bytes; the limit is {limit:,}.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The body is larger than the limit of {limit:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
