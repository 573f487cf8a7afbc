"""The demo org: deterministic, realistic, and holding the personas the rest of the project relies on."""

from __future__ import annotations

from collections import Counter

from oktasim import OktaOrg, seed_demo_org

PERSONAS = {  # login -> (status, a group it is in, whether it has an Okta Verify push factor)
    "hana.helpdesk@acme.example": ("ACTIVE", "Helpdesk", True),
    "arjun.approver@acme.example": ("ACTIVE", "Approvers", True),
    "beatriz.approver@acme.example": ("ACTIVE", "Approvers", True),
    "sam.security@acme.example": ("ACTIVE", "Security", True),
    "erin.employee@acme.example": ("ACTIVE", "Engineering", True),
    "lee.locked@acme.example": ("LOCKED_OUT", "Sales", True),
    "sue.suspended@acme.example": ("SUSPENDED", "Everyone", True),
    "dee.deprovisioned@acme.example": ("DEPROVISIONED", "Everyone", False),
    "oscar.admin@acme.example": ("ACTIVE", "Okta Admins", True),
    "alex.kim@acme.example": ("ACTIVE", "Engineering", True),
    "alex.garcia@acme.example": ("ACTIVE", "Sales", False),
}


def _snapshot(org: OktaOrg) -> list[dict]:
    return [
        u.to_json("https://acme.okta.example") | {"factors": [f.to_json("", u.id) for f in u.factors]}
        for u in org.directory.users_by_id()
    ]


def test_the_demo_org_is_the_same_on_every_run() -> None:
    assert _snapshot(seed_demo_org()) == _snapshot(seed_demo_org())
    assert [g.id for g in seed_demo_org().directory.groups_by_id()] == [
        g.id for g in seed_demo_org().directory.groups_by_id()
    ]
    other = seed_demo_org(seed=7)
    assert _snapshot(other) != _snapshot(seed_demo_org())
    assert {u.login for u in other.directory.users.values()} >= set(PERSONAS), "personas do not depend on the seed"


def test_personas() -> None:
    org = seed_demo_org()
    for login, (status, group, has_push) in PERSONAS.items():
        user = org.get_user(login)
        assert user.status == status, login
        assert group in {g.name for g in org.directory.groups_of(user)}, login
        assert any(f.factor_type == "push" for f in user.factors) == has_push, login
    alexes = [u for u in org.directory.users.values() if u.profile["firstName"] == "Alex"]
    assert len(alexes) == 2, "exactly two users share the first name Alex (ambiguous-match tests)"
    assert org.get_group("Okta Admins").privileged and not org.get_group("Helpdesk").privileged


def test_a_realistic_population() -> None:
    org = seed_demo_org()
    users = list(org.directory.users.values())
    assert len(users) >= 60
    statuses = Counter(u.status.value for u in users)
    assert statuses["ACTIVE"] > len(users) / 2
    for status in ("LOCKED_OUT", "SUSPENDED", "DEPROVISIONED", "PASSWORD_EXPIRED", "STAGED", "PROVISIONED", "RECOVERY"):
        assert statuses[status] >= 2, status
    assert all(u.login.endswith("@acme.example") and u.profile["email"] == u.login for u in users)
    assert len({u.login for u in users}) == len(users)
    assert all(u.profile.get("title") and u.profile.get("department") for u in users)
    managed = [u for u in users if u.profile.get("managerId")]
    assert len(managed) > len(users) / 2 and all(org.get_user(u.profile["managerId"]) for u in managed)
    active = [u for u in users if u.status == "ACTIVE"]
    assert all(u.last_login and u.password_changed and u.last_login > u.created for u in active)
    assert all(u.last_login is None for u in users if u.status in ("STAGED", "PROVISIONED"))
    assert {g.name for g in org.directory.groups.values()} == {
        "Everyone",
        "Engineering",
        "Sales",
        "Finance",
        "Helpdesk",
        "Security",
        "Approvers",
        "Okta Admins",
        "Contractors",
    }
    factor_types = Counter(f.factor_type for u in users for f in u.factors)
    assert {"push", "sms", "token:software:totp", "webauthn"} <= set(factor_types)
    assert org.log_events == [], "a fresh org has an empty System Log"


def test_bigger_orgs() -> None:
    org = seed_demo_org(users=750)
    users = list(org.directory.users.values())
    assert len(users) == 750 and len({u.login for u in users}) == 750
    assert Counter(u.status.value for u in users)["LOCKED_OUT"] > 20
