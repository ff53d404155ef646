"""Browser tests: Debian's Chromium, headless, driven by Debian's chromedriver.

Neither the browser nor the driver is ever downloaded: both come from Debian's packages
(``apt-get install chromium chromium-driver``; ``.ci/run`` installs them). On a machine
without them the browser tests are skipped with that message, except in CI
(``CI=true``), where they fail: CI must run them.

Screenshots of the pages a test visits are saved under ``test-artifacts/screenshots/``
(``CALTRACE_TEST_ARTIFACTS`` moves the folder).

Every page a test opens must pass our Content-Security-Policy: Chromium logs each thing the
policy refused ("Refused to ... because it violates the following Content Security Policy
directive"), and a test fails on the first such line, when a page has loaded and at its end.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labserver.accounts.models import User
from tests.support.lims import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def _tools() -> tuple[str, str] | None:
    browser = next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("CALTRACE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    path = folder / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (a new one per test costs a second)."""
    tools = _tools()
    if tools is None:
        message = (
            "Chromium and chromedriver are not installed: apt-get install chromium "
            "chromium-driver (Debian's packages) to run the browser tests"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must run them")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = tools
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    session.set_page_load_timeout(30)
    try:
        yield session
    finally:
        session.quit()


class Page:
    """The browser, as a test uses it: open a path of the live server, read, screenshot."""

    def __init__(self, driver: Any, base_url: str, test_name: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name)
        self.shots = 0

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.wait_ready()
        self.assert_no_csp_violation()

    def assert_no_csp_violation(self) -> None:
        """Fail on anything the page's Content-Security-Policy refused since the last
        look (reading Chromium's console log empties it)."""
        refused = [
            str(entry.get("message", ""))
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in str(entry.get("message", ""))
        ]
        assert not refused, "the page broke its Content-Security-Policy:\n" + "\n".join(refused)

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        """Wait until the current document has loaded (an element found earlier may
        belong to the page being replaced)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        WebDriverWait(self.driver, timeout_s, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def text(self, css: str = "body") -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        self.wait_ready()
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def click_and_wait(self, css: str, timeout_s: float = 20.0) -> None:
        """Click what ``css`` finds (a link, a submit button) and wait for the next page.

        The old page is marked with a script variable; the next page is the one without
        it, fully loaded. While Chromium replaces the document, a script or an element
        may answer with an error of the page going away: that is waited through.
        """
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        self.wait_ready(timeout_s)
        self.driver.execute_script("window.__caltraceOldPage = true;")
        self.find(css).click()

        def next_page_loaded(driver: Any) -> bool:
            return bool(
                driver.execute_script(
                    "return window.__caltraceOldPage === undefined"
                    " && document.readyState === 'complete';"
                )
            )

        WebDriverWait(self.driver, timeout_s, ignored_exceptions=(WebDriverException,)).until(
            next_page_loaded
        )
        self.assert_no_csp_violation()

    def screenshot(self, name: str) -> Path:
        self.shots += 1
        path = artifacts_dir() / f"{self.test_name}-{self.shots:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture
def page(chromium: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    # Each test starts from a blank page with no cookies (no session of an earlier test),
    # and the last test's page no longer loading.
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chromium.get_log("browser")  # what an earlier test left in the console
    opened = Page(chromium, live_server.url, request.node.name)
    yield opened
    opened.assert_no_csp_violation()  # what the last page did after the test's last look


def sign_in(page: Page, user: User | str) -> None:
    """Sign in through the login form as ``user`` (a person, or a username) with the tests'
    password."""
    page.open("/accounts/login/")
    page.find("#id_username").send_keys(user if isinstance(user, str) else user.username)
    page.find("#id_password").send_keys(PASSWORD)
    page.click_and_wait("form.stack button[type=submit]")


def sign_out(page: Page) -> None:
    page.click_and_wait(".who form[action='/accounts/logout/'] button[type=submit]")


#: The window sizes a public page is shown at: a desktop, and phones 390 and 320 px wide.
SIZES = {"desktop": (1280, 900), "phone-390": (390, 844), "phone-320": (320, 640)}


def assert_fits(page: Page, what: str) -> None:
    """The page open in ``page`` does not scroll sideways."""
    # innerWidth counts a classic scrollbar; clientWidth, the width left beside it, is stricter.
    wide, inner, client = page.driver.execute_script(
        "const e = document.documentElement;"
        "return [e.scrollWidth, window.innerWidth, e.clientWidth];"
    )
    assert wide <= inner, f"{what} scrolls sideways: {wide} px in {inner} px"
    assert wide <= client, f"{what} scrolls sideways: {wide} px beside the scrollbar, {client} px"
