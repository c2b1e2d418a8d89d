"""The REST API's parts of the dashboard in a real browser, on the real server (its own copy of the
seeded workspace): an Administrator creates API keys on Administration → API keys (each shown once,
copied with the code block's copy button) and revokes one; then the curl example on a Live
API-triggered campaign's page is copied from the page, given the new key and run against the server:
200 with every recipient's outcome, and the same call again is answered from the stored answer.
Screenshots of each step are saved."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from conftest import serve
from core.api_keys import KEY_RE
from core.enums import CampaignType, Role, Status
from core.store import Store
from core.workspace import Workspace

pytestmark = pytest.mark.browser
ADMIN = "Ada Admin · Administrator"
PLACEHOLDER = "$HERALD_API_KEY"


@dataclass
class Served:
    url: str
    campaign_id: int  # a Live API-triggered campaign of the demo
    campaign_name: str


@pytest.fixture(scope="module")
def served(seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on its own copy of the seeded workspace (keys are created and calls made here), and a
    Live API-triggered campaign found through core before the server takes the file."""
    Store.shared(seeded_db).cursor().execute("CHECKPOINT")
    path = tmp_path_factory.mktemp("api-browser") / "herald.duckdb"
    shutil.copy(seeded_db, path)
    store = Store(path)
    try:
        ws = Workspace(store)
        admin = next(u for u in ws.users() if u.role is Role.ADMINISTRATOR)
        live = ws.campaigns.list_frame(admin).filter(
            (pl.col("type") == CampaignType.API_TRIGGERED.value) & (pl.col("status") == Status.LIVE.value)
            & (pl.col("channel") == "email")
        ).sort("id")
        assert live.height, "the demo has Live API-triggered email campaigns"
        campaign_id, name = int(live.get_column("id")[0]), str(live.get_column("name")[0])
    finally:
        store.close()
    for url in serve(path):
        yield Served(url, campaign_id, name)


@pytest.fixture
def clipboard(context: BrowserContext, served: Served) -> BrowserContext:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    return context


def _sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Signed in as").click()
    page.get_by_role("option", name=ADMIN).click()
    expect(page.get_by_label("Signed in as")).to_have_value(ADMIN)


def _copied(page: Page, code_block) -> str:  # type: ignore[no-untyped-def]
    """What the code block's own copy button puts on the clipboard."""
    code_block.hover()
    code_block.get_by_role("button").click()
    return str(page.evaluate("navigator.clipboard.readText()"))


def _create_key(page: Page, name: str) -> str:
    page.get_by_label("Name (what calls with it)").fill(name)
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text(f"Key “{name}” created.", exact=False)).to_be_visible(timeout=15_000)
    block = page.locator("[data-testid=stCode]").filter(has_text="hk_")
    expect(block).to_have_count(1)
    plain = block.inner_text().strip()
    assert KEY_RE.match(plain), plain
    expect(page.get_by_label("Name (what calls with it)")).to_have_value("")  # ready for the next key
    return plain


def _curl(argv: list[str]) -> tuple[int, dict[str, str], dict]:  # type: ignore[type-arg]
    """Run curl with `argv` (its arguments, as the shell expanded them): status, headers, JSON body."""
    done = subprocess.run(["curl", "-sS", "--max-time", "20", "-D", "-", *argv], capture_output=True, text=True,
                          timeout=30, check=True)
    head, _, body = done.stdout.partition("\n\n")  # text mode: curl's CRLFs read as \n
    status_line, *lines = head.splitlines()
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def test_api_keys_and_the_curl_example_run_against_the_server(
    page: Page, clipboard: BrowserContext, served: Served, screenshots: Path
) -> None:
    page.set_viewport_size({"width": 1500, "height": 1300})
    _sign_in(page, served.url)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("tab", name="API keys").click()
    expect(page.get_by_text("Create a key", exact=True)).to_be_visible(timeout=30_000)

    # a key to revoke, then the key the curl call will use
    retired = _create_key(page, "Retired integration")
    plain = _create_key(page, "Order service")
    assert plain != retired and retired not in page.content()  # each key is shown once only
    block = page.locator("[data-testid=stCode]").filter(has_text="hk_")
    page.wait_for_timeout(500)  # the keys grid paints after it appears
    block.hover()  # shows the copy button
    page.wait_for_timeout(400)  # it fades in
    page.screenshot(path=screenshots / "api-keys-created.png", full_page=True)
    assert _copied(page, block) == plain  # the copy button copies exactly the key

    page.get_by_label("Key", exact=True).click()
    page.get_by_role("option", name="Retired integration", exact=False).click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("“Retired integration” is revoked.")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-testid=stCode]").filter(has_text="hk_")).to_have_count(0)  # gone on rerun
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots / "api-keys-revoked.png", full_page=True)

    # the campaign page's curl example: copied, given the key, run as the shell would
    page.goto(f"{served.url}/campaign?id={served.campaign_id}")
    expect(page.get_by_role("heading", name=served.campaign_name)).to_be_visible(timeout=30_000)
    example = page.locator("[data-testid=stCode]").filter(has_text="curl -X POST")
    expect(example).to_be_visible()
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots / "campaign-api-page.png", full_page=True)
    example.hover()  # shows the copy button
    page.wait_for_timeout(400)
    page.locator("[data-testid=stExpander]").filter(has_text="Trigger it through the API").screenshot(
        path=screenshots / "campaign-api-curl.png")
    command = _copied(page, example)
    assert command.strip() == example.inner_text().strip()
    assert command.count(PLACEHOLDER) == 1 and f"/api/v1/campaigns/{served.campaign_id}/trigger" in command
    command = command.replace(PLACEHOLDER, plain)
    assert command.startswith("curl ")
    # expand it once, as bash would (quotes, line continuations, `$(date ...)`), so the retry is the same call
    expanded = subprocess.run(["bash", "-c", "printf '%s\\0' " + command.removeprefix("curl ")],
                              capture_output=True, text=True, timeout=10, check=True).stdout.split("\0")[:-1]
    [idempotency] = [a for a in expanded if a.startswith("Idempotency-Key: ")]
    assert re.fullmatch(rf"Idempotency-Key: {served.campaign_id}-\d+", idempotency), idempotency

    status, headers, first = _curl(expanded)
    assert status == 200, first
    assert first["campaign_id"] == served.campaign_id and first["replayed"] is False
    assert len(first["results"]) == 1 and first["results"][0]["status"] in {"sent", "excluded", "error", "rejected"}
    assert sum(first["counts"].values()) == 1 and "idempotent-replayed" not in headers
    status, headers, again = _curl(expanded)
    assert status == 200 and headers.get("idempotent-replayed") == "true"
    assert again["replayed"] is True and {**again, "replayed": False} == first

    # the revoked key is refused from now on
    refused = [a.replace(plain, retired) for a in expanded]
    status, headers, body = _curl(refused)
    assert status == 401 and "bearer" in headers.get("www-authenticate", "").lower(), body
