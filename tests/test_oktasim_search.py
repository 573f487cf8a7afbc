"""Finding users and paging through them: Okta's search/filter expressions, `q`, Link-header pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from bot.server import BackgroundServer
from oktasim import OktaOrg, create_app, seed_demo_org
from oktasim._search import Comparison, Logical, Not, SearchSyntaxError, evaluate, parse, resolve_path

TOKEN = "00search-test-token"

def test_parser_builds_precedence_and_unescapes_strings() -> None:
    expr = parse(r'profile.lastName eq "O\"Brien \\ Co" AND (status eq "ACTIVE" or not created gt "2020-01-01")')
    assert isinstance(expr, Logical) and expr.op == "and"
    assert expr.left == Comparison("profile.lastName", "eq", 'O"Brien \\ Co')
    assert isinstance(expr.right, Logical) and expr.right.op == "or"
    assert isinstance(expr.right.right, Not)
    assert parse("profile.mobilePhone pr") == Comparison("profile.mobilePhone", "pr")
    assert parse("profile.active eq true") == Comparison("profile.active", "eq", True)
    assert parse('a eq "1" or b eq "2" and c eq "3"') == Logical(
        "or", Comparison("a", "eq", "1"), Logical("and", Comparison("b", "eq", "2"), Comparison("c", "eq", "3"))
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        'status eqq "x"',
        "status eq",
        '(status eq "x"',
        'status eq "x',
        "status eq ACTIVE",
        '"x" eq status',
        'status eq "x" and',
        'status eq "x")',
    ],
)
def test_parser_rejects_malformed_expressions(text: str) -> None:
    with pytest.raises(SearchSyntaxError):
        parse(text)


def test_evaluation_semantics() -> None:
    doc = {
        "status": "ACTIVE",
        "created": "2021-06-01T00:00:00.000Z",
        "profile": {"login": "Ada@Acme.example"},
        "target": [{"id": "a"}, {"id": "b"}],
    }

    def holds(text: str, case_sensitive: bool = False) -> bool:
        return evaluate(parse(text), lambda path: resolve_path(doc, path), case_sensitive=case_sensitive)

    assert holds('profile.login eq "ada@acme.example"') and not holds('profile.login eq "ada@acme.example"', True)
    assert holds('profile.login sw "ADA"') and holds('profile.login co "acme"') and holds('profile.login ew ".example"')
    assert holds('created gt "2021-05-31T23:59:59Z"') and not holds('created gt "2021-06-01T00:00:00.000Z"')
    assert holds('created ge "2021-06-01T00:00:00.000Z"') and holds('created lt "2021-06-01T00:00:00.001Z"')
    assert holds('target.id eq "b"') and not holds('target.id eq "c"'), "arrays match when any element does"
    assert holds("profile.login pr") and not holds("profile.city pr") and holds("profile.city eq null")
    assert holds('not (status eq "SUSPENDED")') and holds('status ne "SUSPENDED"')
    assert holds('(status lt "STAGED" or status gt "STAGED")'), "Okta's documented substitute for ne"


@pytest.fixture(scope="module")
def big_org() -> OktaOrg:
    """600 users: enough for three pages at Okta's maximum page size. Read-only across this module."""
    org = seed_demo_org(users=600)
    org.add_api_token(TOKEN)
    org.add_user("conan.obrien@acme.example", "Conan", 'O"Brien \\ Jr')
    return org


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(big_org: OktaOrg) -> AsyncIterator[httpx.AsyncClient]:
    """One server for the module: these tests only read."""
    headers = {"Authorization": f"SSWS {TOKEN}"}
    async with (
        BackgroundServer(create_app(big_org)) as server,
        httpx.AsyncClient(base_url=server.url, headers=headers) as client,
    ):
        yield client


on_module_loop = pytest.mark.asyncio(loop_scope="module")


async def _all_pages(api: httpx.AsyncClient, params: dict[str, str]) -> tuple[list[dict], list[httpx.Response]]:
    responses = [await api.get("/api/v1/users", params=params)]
    for _ in range(20):  # bounded
        next_link = responses[-1].links.get("next")
        if next_link is None:
            break
        responses.append(await api.get(next_link["url"]))
    return [u for r in responses for u in r.json()], responses


@on_module_loop
async def test_pagination_follows_next_links_over_all_users(big_org: OktaOrg, api: httpx.AsyncClient) -> None:
    users, responses = await _all_pages(api, {})
    expected = {u.id for u in big_org.directory.users.values() if u.status != "DEPROVISIONED"}
    assert len(responses) == 3 and [len(r.json()) for r in responses][:2] == [200, 200]
    assert [u["id"] for u in users] == sorted(expected), "every active user once, in id order, no DEPROVISIONED"
    first = responses[0]
    assert first.links["self"]["url"] == f"{api.base_url}/api/v1/users"
    assert first.headers.get_list("link")[0].endswith('; rel="self"'), "one Link header per relation"
    assert "after=" in first.links["next"]["url"] and "next" not in responses[-1].links
    small, small_pages = await _all_pages(api, {"limit": "250", "search": 'status eq "ACTIVE"'})
    assert len(small_pages[0].json()) == 200, "search pages are capped at 200"
    assert all("search=status" in r.links.get("next", {"url": "search=status"})["url"] for r in small_pages)
    assert len(small) == sum(1 for u in big_org.directory.users.values() if u.status == "ACTIVE")


@on_module_loop
async def test_search_expressions(big_org: OktaOrg, api: httpx.AsyncClient) -> None:
    async def logins(expression: str) -> set[str]:
        return {u["profile"]["login"] for u in (await _all_pages(api, {"search": expression}))[0]}

    assert await logins('profile.firstName eq "alex"') == {"alex.kim@acme.example", "alex.garcia@acme.example"}
    assert await logins(r'profile.lastName eq "o\"brien \\ jr"') == {"conan.obrien@acme.example"}
    deprovisioned = await logins('status eq "DEPROVISIONED"')
    assert "dee.deprovisioned@acme.example" in deprovisioned, "search includes DEPROVISIONED users"
    combined = await logins('profile.department eq "Sales" and (status eq "LOCKED_OUT" or status eq "SUSPENDED")')
    expected = {
        u.login
        for u in big_org.directory.users.values()
        if u.profile.get("department") == "Sales" and u.status in ("LOCKED_OUT", "SUSPENDED")
    }
    assert combined == expected and "lee.locked@acme.example" in combined
    assert await logins('profile.login sw "hana."') == {"hana.helpdesk@acme.example"}
    assert await logins('profile.email co "approver"') == {
        "arjun.approver@acme.example",
        "beatriz.approver@acme.example",
    }
    recent = await logins('lastUpdated gt "2025-03-02T00:00:00.000Z"')
    assert recent == {u.login for u in big_org.directory.users.values() if u.last_updated.isoformat() > "2025-03-02"}


@on_module_loop
async def test_search_sorting(api: httpx.AsyncClient) -> None:
    params = {"search": 'profile.department eq "Finance"', "sortBy": "profile.lastName", "limit": "7"}
    ascending, pages = await _all_pages(api, params)
    names = [u["profile"]["lastName"].casefold() for u in ascending]
    assert len(pages) > 2 and names == sorted(names)
    descending, _ = await _all_pages(api, {**params, "sortOrder": "desc"})
    assert [u["profile"]["lastName"].casefold() for u in descending] == sorted(names, reverse=True)


@on_module_loop
async def test_filter_is_exact_and_limited(api: httpx.AsyncClient) -> None:
    found = (await api.get("/api/v1/users", params={"filter": 'profile.login eq "erin.employee@acme.example"'})).json()
    assert [u["profile"]["login"] for u in found] == ["erin.employee@acme.example"]
    wrong_case = await api.get("/api/v1/users", params={"filter": 'profile.login eq "ERIN.EMPLOYEE@ACME.EXAMPLE"'})
    assert wrong_case.json() == [], "filter values are case-sensitive"
    locked = (
        await api.get("/api/v1/users", params={"filter": 'status eq "LOCKED_OUT" or status eq "SUSPENDED"'})
    ).json()
    assert {u["status"] for u in locked} == {"LOCKED_OUT", "SUSPENDED"}
    for unsupported in ('profile.department eq "Sales"', 'status sw "ACT"', 'not (status eq "ACTIVE")'):
        refused = await api.get("/api/v1/users", params={"filter": unsupported})
        assert refused.status_code == 400 and refused.json()["errorCode"] == "E0000031", unsupported


@on_module_loop
async def test_invalid_search_requests(api: httpx.AsyncClient) -> None:
    for expression in ('status eqq "ACTIVE"', 'profile.department co "Sal"', 'status ne "ACTIVE"', 'status eq "x'):
        refused = await api.get("/api/v1/users", params={"search": expression})
        assert refused.status_code == 400 and refused.json()["errorSummary"] == "Invalid search criteria.", expression
    both = await api.get("/api/v1/users", params={"search": 'status eq "ACTIVE"', "filter": 'status eq "ACTIVE"'})
    assert both.json()["errorCode"] == "E0000033"
    assert (await api.get("/api/v1/users", params={"after": "zzz", "limit": "0"})).status_code == 400
    sorted_page = await api.get(
        "/api/v1/users", params={"search": 'status eq "ACTIVE"', "sortBy": "id", "after": "nope"}
    )
    assert sorted_page.json()["errorCode"] == "E0000029"


@on_module_loop
async def test_q_is_a_prefix_lookup_capped_at_ten(api: httpx.AsyncClient) -> None:
    alexes = (await api.get("/api/v1/users", params={"q": "Alex"})).json()
    assert {u["profile"]["login"] for u in alexes} >= {"alex.kim@acme.example", "alex.garcia@acme.example"}
    assert all(
        any(u["profile"][f].casefold().startswith("alex") for f in ("firstName", "lastName", "email", "login"))
        for u in alexes
    )
    broad = await api.get("/api/v1/users", params={"q": "a"})
    assert len(broad.json()) == 10 and "next" not in broad.links, "q returns 10 by default and does not paginate"
    assert len((await api.get("/api/v1/users", params={"q": "a", "limit": "25"})).json()) == 25
    assert (await api.get("/api/v1/users", params={"q": "dee.deprov"})).json() == [], "q omits DEPROVISIONED users"
