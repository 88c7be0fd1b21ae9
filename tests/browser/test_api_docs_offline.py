"""/api/v1/docs works without the internet: Swagger UI's files come from our own host
(django-ninja ships them; WhiteNoise serves them in production), so with every request to any
other host refused, the page still lists the API's operations."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import tour_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_docs_render_operations_with_only_our_host_reachable(browser, live_server, artifacts):
    ours = urlsplit(live_server.url).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused: list[str] = []

    def only_our_host(route):
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_our_host)
    page = context.new_page()
    page.goto(live_server.url + "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Outbound review API",
                                                                      timeout=30_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/batches").first).to_be_visible()
    assert page.locator(".opblock").count() >= 3
    page.screenshot(path=str(artifacts / "api-docs-offline.png"))
    tour_screenshot(page, "api-docs")
    assert refused == [], f"the docs page asked other hosts for {refused}"
