import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network and a root user (see the machine notes in the README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


class PageLoads:
    """The main-frame document loads of some pages (one `load` event each): a click that follows a link or
    posts a form and its redirect is one load, a download or an htmx swap is none.

    `watch(page)` counts that page's loads from now on; `restart()` forgets the loads counted so far;
    `check(budget, path)` waits for the pages to settle and fails above `budget`, listing the URLs loaded.
    """

    def __init__(self):
        self.pages, self.urls = [], []

    def watch(self, page):
        self.pages.append(page)
        page.on("load", lambda loaded: self.urls.append(loaded.url))
        return page

    def restart(self):
        for page in self.pages:
            page.wait_for_load_state()
        self.urls.clear()

    @property
    def count(self) -> int:
        return len(self.urls)

    def check(self, budget: int, path: str = ""):
        for page in self.pages:
            page.wait_for_load_state()
        loaded = "\n".join(f"  {n}. {url}" for n, url in enumerate(self.urls, start=1))
        assert self.count <= budget, (
            f"{self.count} page loads, budget {budget}{f' ({path})' if path else ''}:\n{loaded}"
        )
        return self.count


@pytest.fixture
def page_loads():
    """A `PageLoads` counter: `page_loads.watch(page)` before the first `goto`."""
    return PageLoads()
