"""The console in headless Chromium (Debian's, driven by Playwright).

First the page against a stub bot: Block Kit and mrkdwn rendered safely, confirm dialogs, menus,
modals and live updates, each action arriving as Slack's request. Then the sandbox end to end: the
real `okta-chatops serve` on embedded defaults, used as people would: look a user up and unlock
them, request a suspend as one person and approve it as another, watch alerts arrive, unlock your
own account with an Okta Verify push.
Screenshots of the steps go to bench/results/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect
from starlette.responses import Response

from bot.server import BackgroundServer
from console import create_console_app
from tests.console_stub import GROUP_SELECT, MORE_MENU, UNLOCK_BUTTON, Arrival, StubBot, reason_modal, web_api
from tests.process_support import serve_process

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

CHROMIUM = Path("/usr/bin/chromium")
APT_PACKAGES = ["chromium", "fonts-noto-color-emoji"]  # emoji font: alerts and cards use emoji
# As root Chromium needs --no-sandbox; the rest keep it off the network this machine does not have.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "screenshots"
WAIT_MS = 10_000  # the longest any step may take to show on the page
HANA, ARJUN, SAM, ERIN = "U0HANA00001", "U0ARJUN0001", "U0SAM000001", "U0ERIN00001"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed with apt-get when missing (a fresh CI machine has none)."""
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip(f"{CHROMIUM} is missing and only root can apt-get install {' '.join(APT_PACKAGES)}")
        started = time.monotonic()
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES],
        ):
            done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        print(f"\ninstalled {' '.join(APT_PACKAGES)} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return str(CHROMIUM)


@pytest.fixture
async def page(chromium: str) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield await browser.new_page(viewport={"width": 1440, "height": 900})
        finally:
            await browser.close()


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


# the page against a stub bot

RICH = [
    {"type": "header", "text": {"type": "plain_text", "text": "Lee Locked :lock:"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*bold* _italic_ `code` ~gone~ <https://acme.example/u?a=1&amp;b=2|the profile> <@U0ERIN00001>\n"
            "&lt;img src=x onerror=alert(1)&gt; &amp;lt; snake_case_name <javascript:alert(1)|bad link>",
        },
        "accessory": UNLOCK_BUTTON,
    },
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Status*\n:lock: Locked out"},
            {"type": "mrkdwn", "text": "*Title*\nAE"},
        ],
    },
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            {"type": "image", "image_url": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "alt_text": "okta"},
            {"type": "mrkdwn", "text": "Okta id `00ulee`"},
        ],
    },
    {"type": "actions", "block_id": "more", "elements": [MORE_MENU, GROUP_SELECT]},
]


async def test_the_page_renders_block_kit_and_acts_as_slack_does(ws, okta_org, slack, page: Page) -> None:  # type: ignore[no-untyped-def]
    stub = StubBot(ws.signing_secret)

    async def api(method: str, **args: object) -> dict[str, object]:
        return await web_api(slack.url, ws.bot_token, method, **args)

    async def open_modal(arrival: Arrival) -> Response:
        if arrival.kind == "slash_command":
            await api("views.open", trigger_id=arrival.payload["trigger_id"], view=reason_modal())
        return Response(status_code=200)

    stub.reply = open_modal
    async with BackgroundServer(stub.app()) as bot:
        app = create_console_app(ws, okta_org, bot_events_url=f"{bot.url}/slack/events")
        async with BackgroundServer(app) as console:
            card = await api("chat.postMessage", channel="#helpdesk", text="Lee Locked", blocks=RICH)
            await api("chat.postEphemeral", channel="#helpdesk", user=HANA, text="Only *you* see this")
            await api("chat.postEphemeral", channel="#helpdesk", user="U0ERIN00001", text="for erin")
            await page.goto(f"{console.url}/#as={HANA}")

            message = page.locator("article.message").first
            await expect(message.locator("h3")).to_have_text("Lee Locked 🔒", timeout=WAIT_MS)
            await expect(message.locator("strong").filter(has_text="bold")).to_have_count(1)
            await expect(message.locator("em")).to_have_text("italic")
            await expect(message.locator("code").first).to_have_text("code")
            await expect(message.locator("del")).to_have_text("gone")
            link = message.get_by_role("link", name="the profile")
            await expect(link).to_have_attribute("href", "https://acme.example/u?a=1&b=2")
            await expect(message.locator(".mention")).to_have_text("@Erin Employee")
            text = message.locator(".section-text").first
            await expect(text).to_contain_text("<img src=x onerror=alert(1)> &lt; snake_case_name bad link")
            assert await page.locator(".messages img[onerror], .messages a[href^=javascript]").count() == 0
            await expect(message.locator(".field").first).to_have_text("Status🔒 Locked out")
            await expect(page.locator("article.message.ephemeral")).to_have_count(1)
            await expect(page.locator(".ephemeral-note")).to_have_text("👁 Only visible to you")
            await shot(page, "stub-01-rendered")

            # a confirm dialog: nothing is sent on Cancel, the action on confirm
            await message.get_by_role("button", name="Unlock").click()
            dialog = page.get_by_role("alertdialog")
            await expect(dialog).to_contain_text("Unlock Lee?Unlock Lee Locked?")
            await shot(page, "stub-02-confirm")
            await dialog.get_by_role("button", name="Cancel").click()
            await expect(dialog).to_have_count(0)
            await message.locator(".overflow-toggle").click()
            await message.get_by_role("button", name="Clear sessions").click()
            picked = await stub.nth(1)
            assert (
                picked.payload["actions"][0]["selected_option"]["value"] == "clear"
            )  # the cancelled click sent nothing
            await message.get_by_role("button", name="Unlock").click()
            await page.get_by_role("alertdialog").get_by_role("button", name="Yes, unlock").click()
            clicked = await stub.nth(2)
            assert clicked.signed and clicked.payload["actions"][0]["value"] == "00ulee"
            await message.locator("select").select_option("finance")
            chosen = await stub.nth(3)
            assert chosen.payload["actions"][0]["selected_option"]["value"] == "finance"
            assert chosen.payload["container"]["message_ts"] == card["ts"]

            # live: an edit shows in place, a deletion takes the message away
            done = [{"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: *Lee* is unlocked"}}]
            await api("chat.update", channel="C0HELPDESK1", ts=card["ts"], text="Lee is unlocked", blocks=done)
            await expect(message.locator(".blocks")).to_have_text("✅ Lee is unlocked", timeout=WAIT_MS)
            await expect(message.locator(".edited")).to_have_text("(edited)")
            await api("chat.delete", channel="C0HELPDESK1", ts=card["ts"])
            await expect(page.locator("article.message")).to_have_count(1, timeout=WAIT_MS)

            # a modal: required fields are checked as Slack's client does, then the values are sent
            await page.locator("#command").fill("/okta suspend alex.kim@acme.example")
            await page.locator("#command").press("Enter")
            modal = page.get_by_role("dialog", name="Why?")
            await expect(modal).to_be_visible(timeout=WAIT_MS)
            await modal.get_by_role("button", name="Send").click()
            await expect(modal.locator(".input-error")).to_have_text(["Please complete this required field."])
            await modal.locator("input").fill("left the company")
            await modal.locator("select").select_option("sales")
            await shot(page, "stub-03-modal")
            await modal.get_by_role("button", name="Send").click()
            submitted = await stub.nth(5)
            values = submitted.payload["view"]["state"]["values"]
            assert values["reason"]["text"]["value"] == "left the company"
            assert values["group"]["pick"]["selected_option"]["value"] == "sales"
            await expect(modal).to_have_count(0, timeout=WAIT_MS)
            assert [a.kind for a in stub.arrivals][3:] == ["slash_command", "view_submission"]
            await page.close()  # its update stream ends with it, so the servers stop at once


# the sandbox end to end


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[str]:
    """`okta-chatops serve` with nothing configured: every outside party simulated."""
    async with serve_process({}, tmp_path / "data") as url:
        yield url


async def be(page: Page, user_id: str, channel: str) -> None:
    """Pick who you are in the persona picker, then open a channel."""
    await page.locator("#persona").select_option(user_id)
    await page.locator(f'#channels button[data-channel="{channel}"]').click()
    await expect(page.locator("#conversation-title")).to_have_text(f"# {channel}", timeout=WAIT_MS)


async def run(page: Page, command: str) -> None:
    await page.locator("#command").fill(command)
    await page.locator("#command").press("Enter")
    await expect(page.locator("#command")).to_have_value("", timeout=WAIT_MS)


async def open_console(page: Page, sandbox: str) -> None:
    await page.goto(sandbox)
    served = await page.request.get(f"{sandbox}/console/api/people")
    assert served.ok, f"the bot does not serve the console at / (GET /console/api/people: {served.status})"


async def test_sandbox_look_up_unlock_and_approve_in_a_browser(sandbox: str, page: Page) -> None:
    await open_console(page, sandbox)

    # Hana of the helpdesk looks Lee up and unlocks them
    await be(page, HANA, "helpdesk")
    await run(page, "/okta lookup lee.locked@acme.example")
    card = page.locator("article.message").filter(has=page.locator("h3", has_text="Lee Locked")).last
    await expect(card).to_contain_text("Locked out", timeout=WAIT_MS)
    await shot(page, "e2e-01-lookup")
    await card.get_by_role("button", name="Unlock").click()  # not destructive: the bot asks no confirmation
    await expect(card).to_contain_text("Lee Locked (lee.locked@acme.example): unlocked", timeout=WAIT_MS)
    await shot(page, "e2e-02-unlocked")

    # Hana asks for Alex to be suspended, giving a reason in the bot's modal
    await run(page, "/okta suspend alex.kim@acme.example")
    form = page.get_by_role("dialog", name="Request approval")
    await form.locator("textarea").fill("Laptop reported stolen")
    await shot(page, "e2e-03-suspend-reason")
    await form.get_by_role("button", name="Request").click()
    await expect(form).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator("#messages")).to_contain_text("#approvals", timeout=WAIT_MS)

    # Arjun, an approver, approves it in #approvals; Alex is suspended
    await be(page, ARJUN, "approvals")
    request = page.locator("article.message").filter(has_text="Approval request: suspend").last
    await expect(request).to_contain_text("Laptop reported stolen", timeout=WAIT_MS)
    await request.get_by_role("button", name="Approve").click()
    await expect(request).to_contain_text("Approved and done", timeout=WAIT_MS)
    await expect(request).to_contain_text("Alex Kim (alex.kim@acme.example): suspended")
    await shot(page, "e2e-04-approved")


async def test_sandbox_alerts_arrive_in_a_browser(sandbox: str, page: Page) -> None:
    await open_console(page, sandbox)

    # a burst of failed sign-ins for an unknown login: security hears of it
    await be(page, SAM, "security-alerts")
    burst = page.locator("#sim-burst")
    await burst.locator("input[name=count]").fill("120")
    await burst.get_by_role("button", name="Fire burst").click()
    await expect(burst.locator("output")).to_have_text("120 failed sign-ins for admin@acme.example", timeout=WAIT_MS)
    await expect(page.locator("#messages")).to_contain_text("admin@acme.example", timeout=WAIT_MS * 3)
    await shot(page, "e2e-05-burst-alert")

    # Erin is locked out after failed sign-ins: the helpdesk hears of it
    await be(page, HANA, "helpdesk")
    lockout = page.locator("#sim-lockout")
    await lockout.locator("input[name=login]").fill("erin.employee@acme.example")
    await lockout.get_by_role("button", name="Lock out").click()
    await expect(lockout.locator("output")).to_contain_text("LOCKED_OUT", timeout=WAIT_MS)
    alert = page.locator("article.message").filter(has_text="Account locked out").last
    await expect(alert).to_contain_text("erin.employee@acme.example", timeout=WAIT_MS * 3)
    await shot(page, "e2e-06-lockout-alert")


async def test_sandbox_self_service_unlock_in_a_browser(sandbox: str, page: Page) -> None:
    await open_console(page, sandbox)
    await be(page, ERIN, "helpdesk")
    await page.locator("#sim-lockout").get_by_role("button", name="Lock out").click()  # Erin's own account
    await expect(page.locator("#persona-info")).to_contain_text("Okta: LOCKED_OUT", timeout=WAIT_MS)

    await run(page, "/okta unlock")
    await expect(page.locator("#messages")).to_contain_text("Okta Verify", timeout=WAIT_MS)
    await shot(page, "e2e-07-self-service-push")
    await page.locator("#sim-push").get_by_role("button", name="Approve").click()
    await expect(page.locator("#messages")).to_contain_text("Your Okta account is unlocked", timeout=WAIT_MS)
    await expect(page.locator("#persona-info")).to_contain_text("Okta: ACTIVE")
    await shot(page, "e2e-08-self-service-unlocked")

    # the app's Home tab, published when Erin opens it
    await page.locator('#apps button[data-channel="dm"]').click()
    await expect(page.locator("#home .blocks")).to_be_visible(timeout=WAIT_MS)
    await shot(page, "e2e-09-app-home")
