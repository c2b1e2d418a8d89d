"""The REST API through starlette's TestClient on a factory workspace: every endpoint, every kind of
refusal (JSON, nothing written), idempotency, and the events a trigger records showing up in the
campaign report and the stats endpoint."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from api.app import create_app, middleware, routes
from api.openapi import document
from core.enums import Channel, Role, Status
from core.triggers import TriggerRequest
from api_support import CONTENT, ApiWorld, api_world, client, excluded_by, reachable  # noqa: F401 (fixtures)

TRIGGER = "/api/v1/campaigns/{}/trigger"


def _trigger(client: TestClient, api_world: ApiWorld, body: Any, role: Role = Role.MANAGER,
             campaign_id: int | None = None, **headers: str) -> Any:
    return client.post(TRIGGER.format(campaign_id or api_world.campaign.id), json=body,
                       headers={**api_world.auth(role), **headers})


def _events(api_world: ApiWorld, run_id: int) -> pl.DataFrame:
    return api_world.ws.store.cursor().sql(
        "SELECT profile_id, event::VARCHAR AS event, reason FROM delivery_events WHERE run_id = ?", params=[run_id]
    ).pl()


# ---- the document --------------------------------------------------------------------------------


def test_the_openapi_document_describes_every_endpoint(client: TestClient) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc == document() and doc["openapi"].startswith("3.")
    served_routes = routes(lambda: None)  # type: ignore[arg-type, return-value]
    mount = next(r for r in served_routes if isinstance(r, Mount))
    served = {"/api/v1" + r.path for r in mount.routes if "{rest:path}" not in r.path}
    # the tracking routes (api/tracking.py) sit beside the mount; they take any text as the token
    served |= {r.path.replace("{token:path}", "{token}") for r in served_routes if isinstance(r, Route)}
    assert served == set(doc["paths"])
    schemas = doc["components"]["schemas"]
    for name in ("TriggerRequest", "Recipient", "TriggerResponse", "RecipientResult", "CampaignList",
                 "CampaignDetail", "RunList", "CampaignStats", "Figures", "Error"):
        assert name in schemas
    assert schemas["TriggerRequest"] == doc["components"]["schemas"]["TriggerRequest"]
    assert schemas["TriggerRequest"]["additionalProperties"] is False
    assert schemas["TriggerRequest"]["properties"]["recipients"]["maxItems"] == 1000
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            assert {"200", "302"} & set(operation["responses"]), path
            if operation.get("security") == []:  # no key: the document itself and the email tracking routes
                assert path == "/api/v1/openapi.json" or "tracking" in operation["tags"], path
                assert not {"401", "403"} & set(operation["responses"]), path
            else:
                assert {"401", "403"} <= set(operation["responses"]), path


# ---- reads ---------------------------------------------------------------------------------------


def test_campaigns_are_listed_and_read_by_any_role(client: TestClient, api_world: ApiWorld) -> None:
    answer = client.get("/api/v1/campaigns", headers=api_world.auth(Role.VIEWER))
    assert answer.status_code == 200
    listed = {c["id"]: c for c in answer.json()["campaigns"]}
    expected = api_world.ws.campaigns.list_frame(api_world.world.admin)
    assert set(listed) == set(expected.get_column("id").to_list())
    found = listed[api_world.campaign.id]
    assert found["type"] == "api_triggered" and found["status"] == "live"
    assert found["trigger_path"] == TRIGGER.format(api_world.campaign.id)
    only = client.get("/api/v1/campaigns?type=api_triggered&status=live", headers=api_world.auth(Role.VIEWER))
    assert [c["id"] for c in only.json()["campaigns"]] == [api_world.campaign.id]
    detail = client.get(f"/api/v1/campaigns/{api_world.campaign.id}", headers=api_world.auth(Role.VIEWER)).json()
    assert detail["content"] == CONTENT and detail["context_keys"] == ["code", "order_id"]
    assert detail["channel_config"]["provider"] == "sandbox"


def test_runs_are_listed_newest_first_a_page_at_a_time(client: TestClient, api_world: ApiWorld) -> None:
    ids = reachable(api_world, 3)
    made = []
    for pid in ids:
        api_world.world.clock.tick(minutes=1)
        made.append(_trigger(client, api_world, {"recipients": [{"profile_id": pid}]}).json()["run_id"])
    page = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/runs?limit=2",
                      headers=api_world.auth(Role.VIEWER)).json()
    assert page["total"] == 3 and [r["id"] for r in page["runs"]] == made[::-1][:2]
    assert all(r["status"] == "finished" and r["total"] == 1 for r in page["runs"])
    assert page["runs"][0]["api_key_id"] == api_world.keys[Role.MANAGER][0].id
    rest = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/runs?limit=2&offset=2",
                      headers=api_world.auth(Role.VIEWER)).json()
    assert [r["id"] for r in rest["runs"]] == [made[0]]


def test_stats_of_one_day_are_that_days_calls(client: TestClient, api_world: ApiWorld) -> None:
    """`?day=` scopes the figures to the runs (calls) due that UTC day, as the report's day picker does."""
    ids = reachable(api_world, 3)
    first_day = api_world.world.clock.now.date()
    _trigger(client, api_world, {"recipients": [{"profile_id": ids[0]}]})
    api_world.world.clock.tick(days=1)
    _trigger(client, api_world, {"recipients": [{"profile_id": pid} for pid in ids[1:]]})
    url, auth = f"/api/v1/campaigns/{api_world.campaign.id}/stats", api_world.auth(Role.VIEWER)
    one, two, every = (client.get(url + query, headers=auth).json()
                       for query in (f"?day={first_day}", f"?day={first_day + timedelta(days=1)}", ""))
    assert one["day"] == str(first_day) and one["figures"]["targeted"] == 1
    assert two["figures"]["targeted"] == 2 and every["day"] is None and every["figures"]["targeted"] == 3
    report = api_world.ws.analytics.report(api_world.world.viewer, api_world.campaign.id, day=first_day)
    assert one["figures"] == {k: report.figures[k] for k in one["figures"]}
    assert client.get(url + f"?day={first_day - timedelta(days=1)}", headers=auth).status_code == 404
    for bad in ("?day=yesterday", "?day=2026-02-30", f"?day={first_day}&run_id=1"):
        answer = client.get(url + bad, headers=auth)
        assert answer.status_code == 422, bad
        assert answer.json()["error"]


# ---- triggers -----------------------------------------------------------------------------------


def test_a_trigger_sends_excludes_rejects_and_records_every_outcome(client: TestClient, api_world: ApiWorld) -> None:
    sent = reachable(api_world, 3)
    suppressed, no_consent, no_address = (excluded_by(api_world, r) for r in ("suppressed", "no_consent",
                                                                              "no_address"))
    profiles = api_world.ws.audiences.profiles()
    email_of = dict(zip(profiles.get_column("profile_id").to_list(), profiles.get_column("email").to_list()))
    body = {"recipients": [
        {"profile_id": sent[0]}, {"profile_id": sent[1]}, {"address": email_of[sent[2]].upper()},
        {"profile_id": suppressed}, {"profile_id": no_consent}, {"profile_id": no_address},
        {"profile_id": 999_999}, {"address": "nobody@nowhere.example"}, {"address": email_of[sent[0]]},
    ], "context": {"code": 123456, "order_id": "A-17"}}
    answer = _trigger(client, api_world, body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    statuses = [(r["status"], r["reason"]) for r in result["results"]]
    assert statuses[:3] == [("sent", None)] * 3 or all(s in ("sent", "error") for s, _ in statuses[:3])
    assert statuses[3:] == [("excluded", "suppressed"), ("excluded", "no_consent"), ("excluded", "no_address"),
                            ("rejected", "unknown_profile"), ("rejected", "unknown_address"),
                            ("rejected", "duplicate")]
    assert result["results"][2]["profile_id"] == sent[2]  # the address resolved, case-insensitively
    assert result["counts"]["excluded"] == 3 and result["counts"]["rejected"] == 3
    events = _events(api_world, result["run_id"])
    dispositions = events.filter(pl.col("event").is_in(["sent", "error", "excluded"]))
    assert dispositions.height == dispositions.get_column("profile_id").n_unique() == 6  # one per recipient
    assert set(dispositions.filter(pl.col("event") == "excluded").get_column("reason")) == {
        "suppressed", "no_consent", "no_address"}
    run = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/runs", headers=api_world.auth()).json()["runs"][0]
    assert run["id"] == result["run_id"] and run["total"] == 6
    report = api_world.ws.analytics.report(api_world.world.viewer, api_world.campaign.id)
    assert report.figures["targeted"] == 6 and report.figures["excluded"] == 3
    assert report.figures["sent"] + report.figures["errors"] == 3
    stats = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/stats", headers=api_world.auth(Role.VIEWER))
    assert stats.status_code == 200
    assert stats.json()["figures"] == {k: report.figures[k] for k in stats.json()["figures"]}
    per_run = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/stats?run_id={result['run_id']}&last_24h=true",
                         headers=api_world.auth(Role.VIEWER)).json()
    assert per_run["run_id"] == result["run_id"] and per_run["figures"]["targeted"] == 6


def test_messages_are_rendered_with_profile_and_context_and_handed_to_the_provider(
    client: TestClient, api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real provider gets each rendered message; its answer (here: one refusal) is the outcome."""
    w = api_world.world
    webhook = api_world.ws.add_channel_config(w.admin, {
        "name": "SMS gateway", "channel": "sms", "provider": "webhook", "sender_address": "HERALD",
        "settings": {"url": "https://gateway.invalid/send"}})
    campaign = api_world.api_campaign(name="Delivery SMS", channel="sms", channel_config_id=webhook.id,
                                      content={"body": "{{profile.first_name|Hi}}: order {{context.order_id}} ships."})
    handed: list[pl.DataFrame] = []

    def hand_off(config: Any, messages: pl.DataFrame) -> pl.DataFrame:
        handed.append(messages)
        refused = messages.get_column("profile_id")[1]
        return messages.select(
            "profile_id", pl.when(pl.col("profile_id") == refused).then(pl.lit("error")).otherwise(pl.lit("sent"))
            .alias("event"), pl.lit(None, pl.String).alias("bounce"),
            pl.when(pl.col("profile_id") == refused).then(pl.lit("gateway said no")).alias("reason"),
            pl.lit(w.clock.now).cast(pl.Datetime("us")).alias("occurred_at"))

    monkeypatch.setattr(api_world.ws.delivery, "_hand_off", hand_off)
    profiles = api_world.ws.audiences.profiles().with_columns(
        __import__("core.audiences", fromlist=["exclusion_reason"]).exclusion_reason(Channel.SMS))
    two = profiles.filter(pl.col("reason").is_null()).head(2)
    answer = client.post(TRIGGER.format(campaign.id), headers=api_world.auth(),
                         json={"recipients": [{"profile_id": p} for p in two.get_column("profile_id")],
                               "context": {"order_id": "A-42"}})
    assert answer.status_code == 200, answer.text
    [messages] = handed
    first_names = two.get_column("first_name").to_list()
    assert messages.get_column("body").to_list() == [f"{n or 'Hi'}: order A-42 ships." for n in first_names]
    assert messages.get_column("to").to_list() == two.get_column("phone").to_list()
    assert [(r["status"], r["reason"]) for r in answer.json()["results"]] == [("sent", None),
                                                                              ("error", "gateway said no")]
    events = _events(api_world, answer.json()["run_id"]).sort("profile_id")
    assert sorted(events.get_column("event").to_list()) == ["error", "sent"]


def test_addresses_are_refused_for_channels_that_address_profiles_by_id(client: TestClient,
                                                                         api_world: ApiWorld) -> None:
    push = api_world.api_campaign(name="Cart push", channel="push",
                                  channel_config_id=api_world.world.configs[Channel.PUSH].id,
                                  content={"subject": "Cart", "body": "Still there?"})
    before = api_world.dump()
    answer = client.post(TRIGGER.format(push.id), headers=api_world.auth(), json={"recipients": [{"address": "a@b.cd"}]})
    assert answer.status_code == 422 and "recipients.0.address" in answer.json()["problems"]
    assert api_world.dump() == before


@pytest.mark.parametrize("role", list(Role))
def test_who_may_trigger(client: TestClient, api_world: ApiWorld, role: Role) -> None:
    """Manager, Approver and Administrator keys trigger; a Viewer key is refused (403), nothing sent."""
    before = api_world.dump()
    answer = _trigger(client, api_world, {"recipients": [{"profile_id": reachable(api_world, 1)[0]}]}, role=role)
    if role is Role.VIEWER:
        assert answer.status_code == 403 and "Viewer" in answer.json()["error"]
        assert api_world.dump() == before
    else:
        assert answer.status_code == 200


def test_managers_may_not_read_statistics(client: TestClient, api_world: ApiWorld) -> None:
    answer = client.get(f"/api/v1/campaigns/{api_world.campaign.id}/stats", headers=api_world.auth(Role.MANAGER))
    assert answer.status_code == 403 and "view reports" in answer.json()["error"]


# ---- idempotency --------------------------------------------------------------------------------


def test_an_idempotency_key_never_sends_twice(client: TestClient, api_world: ApiWorld) -> None:
    body = {"recipients": [{"profile_id": pid} for pid in reachable(api_world, 2)], "context": {"code": 1}}
    first = _trigger(client, api_world, body, **{"Idempotency-Key": "reset-7f3a"})
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    after_first = api_world.dump()
    again = _trigger(client, api_world, body, **{"Idempotency-Key": "reset-7f3a"})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert {**again.json(), "replayed": False} == first.json() and again.json()["replayed"] is True
    assert api_world.dump() == after_first  # nothing sent, nothing recorded again
    other = _trigger(client, api_world, {**body, "context": {"code": 2}}, **{"Idempotency-Key": "reset-7f3a"})
    assert other.status_code == 422 and "different body" in other.json()["problems"]["Idempotency-Key"]
    assert api_world.dump() == after_first
    # The key is per API key and campaign: another key's identical call is its own.
    elsewhere = _trigger(client, api_world, body, role=Role.ADMINISTRATOR, **{"Idempotency-Key": "reset-7f3a"})
    assert elsewhere.status_code == 200 and elsewhere.json()["run_id"] != first.json()["run_id"]
    bad = _trigger(client, api_world, body, **{"Idempotency-Key": "has spaces"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["problems"]


def test_concurrent_retries_with_one_idempotency_key_send_once(api_world: ApiWorld) -> None:
    key = api_world.keys[Role.MANAGER][0]
    body = TriggerRequest.model_validate({"recipients": [{"profile_id": reachable(api_world, 1)[0]}]})
    answers: list[Any] = []

    def call() -> None:
        answers.append(api_world.ws.triggers.trigger(key, api_world.campaign.id, body, "same-call"))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.run_id for a in answers}) == 1 and sum(not a.replayed for a in answers) == 1
    runs = api_world.ws.store.cursor().execute("SELECT count(*) FROM runs WHERE campaign_id = ?",
                                               [api_world.campaign.id]).fetchall()[0][0]
    assert runs == 1


def test_idempotency_survives_a_restart(api_world: ApiWorld, tmp_path: Any) -> None:
    """The answers live in the store: a new process (here: a fresh state) still finds them."""
    from core import triggers

    key = api_world.keys[Role.MANAGER][0]
    body = {"recipients": [{"profile_id": reachable(api_world, 1)[0]}]}
    first = api_world.ws.triggers.trigger(key, api_world.campaign.id, body, "restart-1")
    triggers._STATES.pop(api_world.ws.store)  # forget every in-memory answer and the Bloom filter
    fresh = triggers.Triggers(api_world.ws.store, api_world.ws.audiences, api_world.ws.delivery, api_world.ws.clock)
    again = fresh.trigger(key, api_world.campaign.id, body, "restart-1")
    assert again.replayed and again.run_id == first.run_id


# ---- refusals: 4xx JSON, nothing written ----------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, Any], int, str]] = [
    ("no key", {"headers": {}}, 401, "Authorization: Bearer"),
    ("not bearer", {"headers": {"Authorization": "Basic abc"}}, 401, "Authorization: Bearer"),
    ("unknown key", {"headers": {"Authorization": "Bearer hk_0123456789ab_" + "x" * 43}}, 401, "not valid"),
    ("malformed key", {"headers": {"Authorization": "Bearer hello"}}, 401, "not valid"),
    ("malformed JSON", {"content": b'{"recipients": [', "json_type": True}, 400, "not valid JSON"),
    ("not an object", {"json": [1, 2]}, 422, "object"),
    ("unknown field", {"json": {"recipients": [{"profile_id": 1}], "priority": "high"}}, 422, "priority"),
    ("unknown recipient field", {"json": {"recipients": [{"profile_id": 1, "name": "x"}]}}, 422, "recipients.0.name"),
    ("wrong type", {"json": {"recipients": [{"profile_id": "12"}]}}, 422, "recipients.0.profile_id"),
    ("float id", {"json": {"recipients": [{"profile_id": 1.5}]}}, 422, "recipients.0.profile_id"),
    ("both id and address", {"json": {"recipients": [{"profile_id": 1, "address": "a@b.cd"}]}}, 422, "exactly one"),
    ("neither", {"json": {"recipients": [{}]}}, 422, "exactly one"),
    ("null address", {"json": {"recipients": [{"address": None}]}}, 422, "null"),
    ("no recipients", {"json": {"recipients": []}}, 422, "recipients"),
    ("too many", {"json": {"recipients": [{"profile_id": i} for i in range(1, 1002)]}}, 422, "recipients"),
    ("repeated", {"json": {"recipients": [{"profile_id": 3}, {"profile_id": 3}]}}, 422, "same"),
    ("nested context", {"json": {"recipients": [{"profile_id": 1}], "context": {"cart": {"id": 1}}}}, 422, "context"),
    ("huge id", {"json": {"recipients": [{"profile_id": 2**64}]}}, 422, "recipients.0.profile_id"),
    ("oversize", {"content": b'{"recipients": [' + b" " * 1_100_000 + b"]}", "json_type": True}, 413, "limit"),
    ("wrong type header", {"content": b"recipients=1", "headers_extra": {"Content-Type": "text/plain"}}, 415,
     "application/json"),
    ("unknown campaign", {"path": TRIGGER.format(987654), "json": {"recipients": [{"profile_id": 1}]}}, 404,
     "no campaign"),
    ("silly campaign id", {"path": TRIGGER.format("12abc"), "json": {"recipients": [{"profile_id": 1}]}}, 404,
     "no campaign"),
    ("huge campaign id", {"path": TRIGGER.format(10**30), "json": {"recipients": [{"profile_id": 1}]}}, 404,
     "no campaign"),
    ("wrong method", {"method": "GET"}, 405, "not allowed"),
    ("unknown path", {"path": "/api/v1/campaigns/1/explode"}, 404, "openapi.json"),
    ("unknown query parameter", {"path": "/api/v1/campaigns?colour=red", "method": "GET"}, 422, "colour"),
    ("bad runs limit", {"path": "/api/v1/campaigns/1/runs?limit=0", "method": "GET"}, 422, "limit"),
]


@pytest.mark.parametrize(("case", "call", "status", "says"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_are_json_and_write_nothing(client: TestClient, api_world: ApiWorld, case: str,
                                             call: dict[str, Any], status: int, says: str) -> None:
    before = api_world.dump()
    headers = call.get("headers", api_world.auth())
    headers = {**headers, **call.get("headers_extra", {})}
    if call.get("json_type"):
        headers = {**headers, "Content-Type": "application/json"}
    path = call.get("path", TRIGGER.format(api_world.campaign.id))
    kwargs: dict[str, Any] = {"headers": headers}
    if "json" in call:
        kwargs["json"] = call["json"]
    if "content" in call:
        kwargs["content"] = call["content"]
    answer = client.request(call.get("method", "POST"), path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error", "problems"} and isinstance(body["problems"], dict)
    assert says.lower() in (body["error"] + " " + " ".join(body["problems"])).lower()
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert api_world.dump() == before


def test_a_chunked_body_over_the_limit_is_refused_while_reading(client: TestClient, api_world: ApiWorld) -> None:
    def chunks() -> Any:
        yield b'{"recipients": ['
        for _ in range(40):
            yield b" " * 32_768
        yield b"]}"

    before = api_world.dump()
    answer = client.post(TRIGGER.format(api_world.campaign.id), content=chunks(),
                         headers={**api_world.auth(), "Content-Type": "application/json"})
    assert answer.status_code == 413 and api_world.dump() == before


def test_a_revoked_key_is_refused_from_the_next_call(client: TestClient, api_world: ApiWorld) -> None:
    key, _ = api_world.keys[Role.MANAGER]
    assert client.get("/api/v1/campaigns", headers=api_world.auth()).status_code == 200
    api_world.ws.api_keys.revoke(api_world.world.admin, key.id)
    answer = client.get("/api/v1/campaigns", headers=api_world.auth())
    assert answer.status_code == 401 and "revoked" in answer.json()["error"]


def test_campaigns_that_cannot_be_triggered_now_are_refused(client: TestClient, api_world: ApiWorld) -> None:
    w = api_world.world
    now = w.clock.now
    scheduled = api_world.ws.campaigns.activate(w.admin, *(lambda c: (c.id, c.revision))(w.svc.create(w.manager, {
        "name": "Newsletter", "channel_config_id": w.configs[Channel.EMAIL].id, "audience_id": w.audience.id,
        "content": {"subject": "News", "body": "News."}, "schedule": {"timezone": "UTC"}})))
    draft = api_world.api_campaign(name="Not yet", activate=False)
    later = api_world.api_campaign(name="Starts tomorrow", schedule={"timezone": "UTC",
                                                                      "starts_at": now + timedelta(days=1)})
    window = api_world.api_campaign(name="Short window", schedule={"timezone": "UTC",
                                                                   "ends_at": now + timedelta(hours=1)})
    disabled = api_world.api_campaign(name="Muted")
    stopped = api_world.api_campaign(name="Stopped one")
    api_world.ws.campaigns.stop(w.admin, stopped.id, stopped.revision)
    w.clock.tick(hours=2)  # past the short window's end
    config = api_world.ws.add_channel_config(w.admin, {"name": "Email spare", "channel": "email",
                                                       "sender_address": "spare@herald.example"})
    api_world.ws.campaigns.modify(w.admin, disabled.id, disabled.revision)
    api_world.ws.set_channel_config_enabled(w.admin, w.configs[Channel.EMAIL].id or 0, False)
    assert config.enabled
    before = api_world.dump()
    expected = {scheduled.id: "scheduled campaign", draft.id: "Draft", later.id: "Scheduled",
                window.id: "until", disabled.id: "disabled", stopped.id: "Stopped"}
    assert later.status is Status.SCHEDULED
    for campaign_id, says in expected.items():
        answer = client.post(TRIGGER.format(campaign_id), headers=api_world.auth(),
                             json={"recipients": [{"profile_id": 1}]})
        assert answer.status_code == 409, (campaign_id, answer.text)
        assert says in answer.json()["error"], answer.json()["error"]
    assert api_world.dump() == before


def test_a_group_of_several_campaigns_calls_gives_each_event_its_own_campaign_and_version(
    api_world: ApiWorld,
) -> None:
    """One group commit, calls of two campaigns interleaved: every simulated event carries its run's
    campaign and version, and each run's events are what the sandbox gives that run alone."""
    from core import sandbox

    key = api_world.keys[Role.MANAGER][0]
    other = api_world.api_campaign(name="Second API campaign")
    triggers = api_world.ws.triggers
    ids = reachable(api_world, 12)
    pendings = [triggers.begin(key, (api_world.campaign.id, other.id)[i % 2], {"recipients": [{"profile_id": pid}]})
                for i, pid in enumerate(ids)]
    triggers.commit_now(pendings)
    assert all(p.write is not None and p.write.done and p.write.error is None for p in pendings)
    cur = api_world.ws.store.cursor()
    mismatched = cur.execute(
        "SELECT count(*) FROM delivery_events e JOIN runs r ON r.id = e.run_id "
        "WHERE e.campaign_id <> r.campaign_id OR e.version <> r.version").fetchall()[0][0]
    assert mismatched == 0
    per_campaign = dict(cur.execute(
        "SELECT campaign_id, count(DISTINCT run_id) FROM delivery_events WHERE campaign_id IN (?, ?) GROUP BY 1",
        [api_world.campaign.id, other.id]).fetchall())
    assert per_campaign == {api_world.campaign.id: 6, other.id: 6}
    profiles = api_world.ws.audiences.profiles()
    purpose = {c.id: c.spec.purpose for c in (api_world.campaign, other)}
    for pending in pendings[:4]:
        run_id = pending.response.run_id
        sent_at = cur.execute("SELECT occurred_at FROM delivery_events WHERE run_id = ? AND event IN ('sent', 'error')",
                              [run_id]).fetchall()[0][0]
        alone = sandbox.simulate(profiles.filter(pl.col("profile_id") == pending.response.results[0].profile_id),
                                 run_id, Channel.EMAIL, purpose[pending.response.campaign_id],
                                 np.array([sent_at], dtype="datetime64[us]"))
        stored = cur.execute("SELECT profile_id, event::VARCHAR, bounce::VARCHAR, reason, occurred_at "
                             "FROM delivery_events WHERE run_id = ? ORDER BY ALL", [run_id]).fetchall()
        assert stored == sorted(alone.rows())


def test_many_calls_at_once_are_committed_together_and_all_recorded(api_world: ApiWorld) -> None:
    """The sync path's committer thread groups concurrent calls; each gets its own run and events."""
    key = api_world.keys[Role.MANAGER][0]
    ids = reachable(api_world, 40)
    answers: list[Any] = []
    lock = threading.Lock()

    def call(pid: int) -> None:
        found = api_world.ws.triggers.trigger(key, api_world.campaign.id, {"recipients": [{"profile_id": pid}]})
        with lock:
            answers.append(found)

    threads = [threading.Thread(target=call, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.run_id for a in answers}) == 40
    cur = api_world.ws.store.cursor()
    due = cur.execute("SELECT count(DISTINCT due_at) FROM runs WHERE campaign_id = ?", [api_world.campaign.id])
    assert due.fetchall()[0][0] == 40  # one clock second, yet every run has its own due time
    report = api_world.ws.analytics.report(api_world.world.viewer, api_world.campaign.id)
    assert report.figures["targeted"] == 40 and report.figures["sent"] + report.figures["errors"] == 40


def test_the_streamlit_app_serves_the_api_ahead_of_the_dashboard() -> None:
    """app.py hands the API to st.App as its first middleware (what `streamlit run app.py` serves;
    tests/test_api_served.py calls it there)."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / "app.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "App"]
    assert calls and {k.arg for k in calls[0].keywords} >= {"middleware", "lifespan"}


def test_api_first_answers_api_paths_and_passes_every_other_path_on(api_world: Any) -> None:
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def dashboard(request: Any) -> PlainTextResponse:
        return PlainTextResponse("dashboard")

    app = Starlette(routes=[Route("/{rest:path}", dashboard)],
                    middleware=middleware(lambda: api_world.ws))
    client = TestClient(app)
    assert client.get("/").text == client.get("/api/v2/x").text == client.get("/api/v1x").text == "dashboard"
    assert client.get("/api/v1").headers["content-type"] == "application/json"
    for nowhere in ("/api/v1/nowhere", "/api/v1/foo%0Abar", "/api/v1/campaigns/1/trigger/%0A"):
        answer = client.get(nowhere)
        assert answer.status_code == 404 and answer.json()["error"], nowhere
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
    assert client.get("/api/v1/campaigns").status_code == 401
