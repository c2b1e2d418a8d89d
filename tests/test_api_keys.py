"""API keys in core: only Administrators create, list and revoke them; the plain key is returned
once and never stored; authentication compares hashes; a revoked key stops at once."""

from __future__ import annotations

import hashlib

import pytest

from core.api_keys import KEY_RE, ApiKeys
from core.enums import Role
from core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from factories import World, dump, world  # noqa: F401 (world is a fixture)


def test_an_administrator_creates_a_key_shown_once_and_stored_as_a_hash(world: World) -> None:
    key, plain = world.ws.api_keys.create(world.admin, "Orders service", Role.MANAGER)
    match = KEY_RE.match(plain)
    assert match and match.group(1) == key.prefix
    assert key.name == "Orders service" and key.role is Role.MANAGER and key.active
    rows = world.store.cursor().execute("SELECT * FROM api_keys").fetchall()
    assert len(rows) == 1
    assert all(plain not in str(value) and match.group(2) not in str(value) for value in rows[0])
    stored = world.store.cursor().execute("SELECT prefix, key_hash FROM api_keys").fetchall()[0]
    assert stored == (key.prefix, hashlib.sha256(plain.encode()).hexdigest())
    listed = world.ws.api_keys.list(world.admin)
    assert [k.id for k in listed] == [key.id]
    assert "key_hash" not in listed[0].model_dump() and plain not in repr(listed[0])
    assert world.ws.api_keys.authenticate(plain) == key


def test_authentication_refuses_anything_but_an_active_key(world: World) -> None:
    keys = world.ws.api_keys
    key, plain = keys.create(world.admin, "Checkout", Role.APPROVER)
    other_secret = plain[:-3] + ("AAA" if not plain.endswith("AAA") else "BBB")
    for bad in (None, "", "hello", plain + "x", other_secret, "hk_" + "0" * 12 + "_" + plain.split("_", 2)[2]):
        with pytest.raises(Unauthenticated):
            keys.authenticate(bad)
    revoked = keys.revoke(world.admin, key.id)
    assert revoked.revoked_at is not None and revoked.revoked_by == world.admin.id and not revoked.active
    with pytest.raises(Unauthenticated, match="revoked"):
        keys.authenticate(plain)
    again = keys.revoke(world.admin, key.id)  # revoking twice changes nothing
    assert again.revoked_at == revoked.revoked_at
    with pytest.raises(NotFound):
        keys.revoke(world.admin, 999)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MANAGER, Role.APPROVER, None])
def test_only_administrators_manage_keys(world: World, role: Role | None) -> None:
    keys = world.ws.api_keys
    key, _ = keys.create(world.admin, "Existing", Role.VIEWER)
    user = world.user(role)
    before = dump(world.store)
    for attempt in (lambda: keys.create(user, "Mine", Role.ADMINISTRATOR), lambda: keys.list(user),
                    lambda: keys.revoke(user, key.id)):
        with pytest.raises(PermissionDenied, match="Administrator"):
            attempt()
    assert dump(world.store) == before


def test_key_names_and_roles_are_checked(world: World) -> None:
    keys = world.ws.api_keys
    keys.create(world.admin, "Billing", Role.VIEWER)
    before = dump(world.store)
    with pytest.raises(InvalidInput) as refused:
        keys.create(world.admin, "billing", Role.MANAGER)
    assert "already named" in refused.value.problems["name"]
    with pytest.raises(InvalidInput) as refused:
        keys.create(world.admin, "   ", "chief")  # type: ignore[arg-type]
    assert set(refused.value.problems) == {"name", "role"}
    assert dump(world.store) == before


def test_every_key_gets_its_own_prefix(world: World) -> None:
    keys = ApiKeys(world.store, world.clock)
    made = [keys.create(world.admin, f"Service {i}", Role.VIEWER) for i in range(20)]
    assert len({k.prefix for k, _ in made}) == 20 and len({p for _, p in made}) == 20
