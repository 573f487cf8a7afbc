"""The deterministic demo org: Acme's people, groups, statuses and factors, identical on every run.

The fixed personas are what the Slack stand-in, the docs and the tests refer to by login; everyone
else is drawn from a seeded generator. Timestamps derive from a fixed base date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from oktaclient.models import UserStatus
from oktasim._org import OktaOrg
from oktasim._records import User

DOMAIN = "acme.example"
DEMO_SEED = 20240601
BASE_DATE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
S = UserStatus

GROUPS = (
    ("Engineering", "Product engineering and SRE", False),
    ("Sales", "Account executives and sales engineering", False),
    ("Finance", "Finance and accounting", False),
    ("Helpdesk", "IT helpdesk: runs /okta in Slack", False),
    ("Security", "Security operations: receives alerts", False),
    ("Approvers", "May approve destructive /okta requests", False),
    ("Okta Admins", "Okta super administrators", True),
    ("Contractors", "Non-employee workforce", False),
)

# department -> (its group, titles)
DEPARTMENTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "Engineering": (
        "Engineering",
        ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Site Reliability Engineer"),
    ),
    "Sales": ("Sales", ("Account Executive", "Sales Development Representative", "Solutions Engineer")),
    "Finance": ("Finance", ("Financial Analyst", "Accountant", "Payroll Specialist")),
    "IT": ("Helpdesk", ("IT Support Specialist", "Helpdesk Analyst")),
    "Security": ("Security", ("Security Engineer", "Security Analyst")),
    "Marketing": (None, ("Marketing Manager", "Content Strategist", "Product Marketing Manager")),
    "People": (None, ("HR Business Partner", "Recruiter")),
}
MANAGER_TITLES = {
    "Engineering": "Engineering Manager",
    "Sales": "Sales Director",
    "Finance": "Controller",
    "IT": "IT Manager",
    "Security": "Security Lead",
    "Marketing": "Head of Marketing",
    "People": "Head of People",
}


@dataclass(frozen=True)
class Persona:
    first: str
    last: str
    status: UserStatus
    department: str
    title: str
    groups: tuple[str, ...] = ()
    factors: tuple[str, ...] = ("push",)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def login(self) -> str:
        return f"{self.first}.{self.last}@{DOMAIN}".lower()


PERSONAS = (
    Persona(
        "Hana", "Helpdesk", S.ACTIVE, "IT", "IT Support Specialist", ("Helpdesk",), ("push", "token:software:totp")
    ),
    Persona("Arjun", "Approver", S.ACTIVE, "Finance", "Finance Director", ("Finance", "Approvers")),
    Persona("Beatriz", "Approver", S.ACTIVE, "Engineering", "VP Engineering", ("Engineering", "Approvers")),
    Persona("Sam", "Security", S.ACTIVE, "Security", "Security Engineer", ("Security",), ("push", "webauthn")),
    Persona("Erin", "Employee", S.ACTIVE, "Engineering", "Software Engineer", ("Engineering",)),
    Persona("Lee", "Locked", S.LOCKED_OUT, "Sales", "Account Executive", ("Sales",)),
    Persona("Sue", "Suspended", S.SUSPENDED, "Marketing", "Content Strategist"),
    Persona("Dee", "Deprovisioned", S.DEPROVISIONED, "Sales", "Account Executive", ("Sales",), ()),
    Persona("Oscar", "Admin", S.ACTIVE, "IT", "IT Administrator", ("Helpdesk", "Okta Admins"), ("push", "webauthn")),
    Persona("Alex", "Kim", S.ACTIVE, "Engineering", "Senior Software Engineer", ("Engineering",)),
    Persona("Alex", "Garcia", S.ACTIVE, "Sales", "Solutions Engineer", ("Sales",), ("sms",)),
)

FIRST_NAMES = tuple(
    """
    Aaliyah Amara Andre Anika Ben Bianca Carlos Chen Chloe Daniel Dmitri Elena Emeka Fatima Felix Grace
    Hiro Ibrahim Ines Isla Jamal Jasmine Javier Julia Kai Kavya Leila Liam Lucia Mateo Maya Mei Mohammed
    Nadia Noah Nora Olga Omar Priya Rafael Rania Ravi Rosa Sakura Samir Sofia Tariq Thandiwe Tomas Uma
    Valentina Viktor Wei Yara Yusuf Zara Zoe Marcus Hannah Diego
    """.split()
)
LAST_NAMES = tuple(
    """
    Adeyemi Alvarez Andersson Bauer Bianchi Chandra Chen Cohen Costa Dubois Eze Fernandez Fischer Fujita
    Gonzalez Gupta Haddad Hansen Ito Ivanova Jensen Johnson Kaur Khan Kowalski Larsen Lopez Martin Mehta
    Moreau Mwangi Nakamura Nguyen Novak Okafor Olsen Patel Petrov Popescu Quinn Rahman Reyes Rossi
    Santos Schmidt Silva Singh Sato Tanaka Torres Umar Varga Wagner Walsh Wang Weber Yamamoto Yilmaz
    Zhang Zimmermann
    """.split()
)
# 30% of generated users are in the statuses helpdesk work is about, in these proportions; the rest are ACTIVE.
SPECIAL_STATUSES = (
    [S.LOCKED_OUT] * 3
    + [S.SUSPENDED] * 2
    + [S.DEPROVISIONED] * 2
    + [S.PASSWORD_EXPIRED] * 2
    + [S.STAGED] * 2
    + [S.PROVISIONED] * 2
    + [S.RECOVERY] * 2
)


def seed_demo_org(seed: int = DEMO_SEED, users: int = 64) -> OktaOrg:
    """A demo org with `users` users (personas included), its groups, statuses, managers and factors."""
    rng = random.Random(seed)
    org = OktaOrg(seed=seed)
    for name, description, privileged in GROUPS:
        org.add_group(name, description, privileged=privileged)
    for persona in PERSONAS:
        user = _add(org, rng, persona.first, persona.last, persona.status, persona.department, persona.title)
        for group in persona.groups:
            org.add_member(group, user)
        for factor_type in persona.factors:
            org.enroll_factor(user, factor_type, created=user.created + timedelta(days=1))
    _add_generated(org, rng, max(users - len(PERSONAS), 0))
    _assign_managers(org)
    return org


def _add_generated(org: OktaOrg, rng: random.Random, count: int) -> None:
    specials = round(count * 0.3)
    statuses = [SPECIAL_STATUSES[i % len(SPECIAL_STATUSES)] for i in range(specials)] + [S.ACTIVE] * (count - specials)
    rng.shuffle(statuses)
    names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    departments = list(DEPARTMENTS)
    for index, status in enumerate(statuses):
        first, last = names[index % len(names)]
        if index >= len(names):  # very large orgs reuse names: the login gets a number
            last = f"{last}{index // len(names)}"
        department = departments[index % len(departments)]
        group, titles = DEPARTMENTS[department]
        contractor = index % 9 == 4
        user = _add(
            org,
            rng,
            first,
            last,
            status,
            department,
            rng.choice(titles),
            userType="Contractor" if contractor else "Employee",
        )
        if group:
            org.add_member(group, user)
        if contractor:
            org.add_member("Contractors", user)
        if status not in (S.STAGED, S.PROVISIONED, S.DEPROVISIONED):
            for factor_type, share in (("push", 0.8), ("token:software:totp", 0.4), ("sms", 0.3), ("webauthn", 0.2)):
                if rng.random() < share:
                    org.enroll_factor(user, factor_type, created=user.created + timedelta(days=rng.randint(1, 30)))


def _add(
    org: OktaOrg,
    rng: random.Random,
    first: str,
    last: str,
    status: UserStatus,
    department: str,
    title: str,
    **profile: str,
) -> User:
    login = f"{first}.{last}@{DOMAIN}".lower()
    if org.directory.login_owner(login) is not None:
        login = f"{first}.{last}{rng.randint(2, 99)}@{DOMAIN}".lower()
    created = BASE_DATE - timedelta(days=rng.randint(60, 1500), minutes=rng.randint(0, 1439))
    never_signed_in = status in (S.STAGED, S.PROVISIONED)
    user = org.add_user(
        login,
        first,
        last,
        status=status,
        password=status is not S.PROVISIONED,
        created=created,
        displayName=f"{first} {last}",
        title=title,
        department=department,
        organization="Acme",
        employeeNumber=str(10_000 + len(org.directory.users)),
        mobilePhone=f"+1-415-555-{rng.randint(0, 9999):04d}",
        countryCode="US",
        **profile,
    )
    changed = BASE_DATE - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 23))
    user.status_changed = None if status is S.STAGED else changed
    user.last_updated = changed
    user.last_login = None if never_signed_in else BASE_DATE - timedelta(hours=rng.randint(1, 24 * 14))
    user.password_changed = (
        None if not user.has_password or never_signed_in else changed - timedelta(days=rng.randint(0, 120))
    )
    user.sessions = 1 if status is S.ACTIVE else 0
    return user


def _assign_managers(org: OktaOrg) -> None:
    """The first active member of each department manages the others (and gets the manager's title)."""
    by_department: dict[str, list[User]] = {}
    for user in sorted(org.directory.users.values(), key=lambda u: u.profile["employeeNumber"]):
        by_department.setdefault(user.profile["department"], []).append(user)
    for department, members in by_department.items():
        manager = next(
            (u for u in members if u.status is S.ACTIVE and u.login not in {p.login for p in PERSONAS}), members[0]
        )
        manager.profile["title"] = MANAGER_TITLES[department]
        for user in members:
            if user is not manager:
                user.profile.update(manager=manager.display_name, managerId=manager.id)
