"""The site in a real browser: log in, look up, refresh, the admin, log out."""

import re

import pytest
from playwright.sync_api import expect

from fastrouter_simulator.server import simulator_id
from generations.models import Generation
from tests.browser.conftest import PASSWORD, log_in, open_page, snapshot
from tests.factories import make_generation

pytestmark = pytest.mark.browser


def test_login_form_logs_in_and_lands_on_lookup(page, live_server, viewer):
    log_in(page, live_server, viewer.username)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Look up a generation")
    expect(page.locator(".topbar")).to_contain_text("viewer")


def test_wrong_password_is_refused_with_a_message(page, live_server, viewer):
    log_in(page, live_server, viewer.username, password="not-the-password")
    expect(page.locator(".error")).to_contain_text("correct username and password")


def test_pages_send_the_strict_content_security_policy(page, live_server, viewer):
    response = page.goto(f"{live_server.url}/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_htmx_lookup_fetches_from_fastrouter_and_shows_the_detail_in_place(member_page, live_server, simulator):
    generation_id = simulator_id(1)
    member_page.fill("#id_generation_id", generation_id)
    member_page.click("form.lookup button[type=submit]")
    expect(member_page.locator("#generation-detail h1")).to_have_text(generation_id)
    # htmx swapped the result in and pushed the detail URL: no full page load happened.
    expect(member_page).to_have_url(f"{live_server.url}/generations/{generation_id}/")
    expect(member_page.locator("section.card h1")).to_have_text("Look up a generation")
    # The tab names the generation now shown, not "Look up a generation".
    expect(member_page).to_have_title(re.compile(rf"^Generation {re.escape(generation_id[:30])}.* · FastRouter Dash$"))
    snapshot(member_page, "htmx-lookup-result")
    assert Generation.objects.filter(generation_id=generation_id).count() == 1
    assert simulator.status_counts() == {200: 1}


def test_htmx_lookup_of_an_unknown_id_explains_in_place(member_page, live_server, simulator):
    member_page.fill("#id_generation_id", "gen-that-fastrouter-never-made")
    member_page.click("form.lookup button[type=submit]")
    expect(member_page.locator("#lookup-result .error")).to_contain_text("no generation with this id")
    expect(member_page).to_have_url(f"{live_server.url}/")


def test_lookup_without_javascript_posts_and_redirects_to_the_detail(browser, live_server, member, simulator, request):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page, problems = open_page(context, request)
    log_in(page, live_server, member.username)
    generation_id = simulator_id(2)
    page.fill("#id_generation_id", generation_id)
    page.click("form.lookup button[type=submit]")
    page.wait_for_load_state()
    expect(page).to_have_url(f"{live_server.url}/generations/{generation_id}/")
    expect(page.locator("#generation-detail h1")).to_have_text(generation_id)
    context.close()
    assert not problems


def test_refresh_button_fetches_again_and_says_so(member_page, live_server, simulator):
    generation_id = simulator_id(3)
    make_generation(generation_id, model="stale/model")
    member_page.goto(f"{live_server.url}/generations/{generation_id}/")
    expect(member_page.locator(".subtitle")).to_contain_text("stale/model")
    member_page.click("text=Refresh from FastRouter")
    member_page.wait_for_load_state()
    expect(member_page.locator(".message.success")).to_have_text("Refreshed from FastRouter.")
    expect(member_page.locator(".subtitle")).not_to_contain_text("stale/model")
    assert simulator.status_counts() == {200: 1}


def test_staff_can_search_the_admin_changelist(staff_page, live_server):
    make_generation("gen-admin-alpha", model="openai/gpt-4o")
    make_generation("gen-admin-beta", model="anthropic/claude-sonnet-4")
    staff_page.goto(f"{live_server.url}/admin/generations/generation/")
    expect(staff_page.locator("#result_list tbody tr")).to_have_count(2)
    staff_page.fill("#searchbar", "claude")
    staff_page.press("#searchbar", "Enter")
    staff_page.wait_for_load_state()
    expect(staff_page.locator("#result_list tbody tr")).to_have_count(1)
    staff_page.click("text=gen-admin-beta")
    staff_page.wait_for_load_state()
    expect(staff_page.get_by_role("heading", name="gen-admin-beta")).to_be_visible()


def test_viewer_cannot_reach_the_admin(viewer_page, live_server):
    viewer_page.goto(f"{live_server.url}/admin/generations/generation/")
    expect(viewer_page).to_have_url(re.compile(r"/admin/login/"))
    expect(viewer_page.locator(".errornote")).to_contain_text("not authorized")


def test_log_out_ends_the_session(viewer_page, live_server):
    viewer_page.click("text=Log out")
    viewer_page.wait_for_load_state()
    # A page that says it worked, with the way back in.
    expect(viewer_page.locator("h1")).to_have_text("Logged out")
    expect(viewer_page.locator("a", has_text="Log in again")).to_be_visible()
    expect(viewer_page.locator(".topbar")).not_to_contain_text("viewer")
    viewer_page.goto(f"{live_server.url}/")
    expect(viewer_page).to_have_url(re.compile(r"/accounts/login/\?next=/"))


def test_repeated_failed_logins_lock_out_with_the_site_page(context, live_server, viewer, settings, request):
    page, problems = open_page(context, request)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(page, live_server, viewer.username, password="wrong")
    log_in(page, live_server, viewer.username, password=PASSWORD)
    expect(page.locator("h1")).to_have_text("Too many failed logins")
    expect(page.locator(".error")).to_contain_text("15 minutes")
    snapshot(page, "lockout-page")
    # The lockout page is answered with 429, which Chromium logs; nothing else may appear.
    assert problems
    assert all("status of 429" in problem for problem in problems)


def test_a_viewer_opens_stored_ids_but_fetches_nothing(viewer_page, live_server, simulator):
    expect(viewer_page.locator("p.notice")).to_contain_text("needs the member role")
    expect(viewer_page.locator("nav.mainnav")).not_to_contain_text("Import")
    viewer_page.fill("#id_generation_id", simulator_id(4))
    viewer_page.click("form.lookup button[type=submit]")
    expect(viewer_page.locator("#lookup-result .error")).to_contain_text("ask an admin for the member role")
    assert simulator.status_counts() == {}


def test_a_new_ingest_token_is_shown_on_its_answer_page_only(staff_page, live_server):
    staff_page.goto(f"{live_server.url}/admin/generations/ingesttoken/add/")
    staff_page.fill("#id_name", "billing-service")
    staff_page.click("input[name=_save]")
    staff_page.wait_for_load_state()
    token = staff_page.input_value("#new-token")
    assert token.startswith("frdi_")
    snapshot(staff_page, "ingest-token-created")
    assert all(token not in cookie["value"] for cookie in staff_page.context.cookies())
    staff_page.click("text=Back to the ingest tokens")
    staff_page.wait_for_load_state()
    expect(staff_page.locator("#result_list")).to_contain_text("billing-service")
    assert token not in staff_page.content()
