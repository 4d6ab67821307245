"""Plain helpers for browser tests, importable from any test: start `switchboard serve` on a site, sign in through
the page, take a screenshot for the docs, and headless Chromium itself.

    from tests.browser.helpers import start_console, stop_console, sign_in, screenshot, wait_for
    from tests.browser.helpers import serve_console, until, text_of   # the console of a LabStack, awaited checks
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from switchboard.errors import LabError
from switchboard.lab.ports import free_port
from switchboard.lab.stack import LabStack
from tests.console_support import prepare_store

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 900)


def chromium_missing() -> str | None:
    """Why headless Chromium cannot run here (None: it can)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: install the Debian package {package} (scripts/bootstrap.sh does)"
    return None


def new_chrome() -> WebDriver:
    """Headless Chromium 1280x900, as root (--no-sandbox), with /tmp instead of a small /dev/shm."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.add_argument("--lang=en-GB")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_window_size(*WINDOW)
    # The page itself 1280x900 (the window's size includes the browser's own frame), for even screenshots.
    metrics = {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return driver


def _switchboard_command() -> list[str]:
    """The `switchboard` script of the running interpreter's environment (the venv's), else PATH's."""
    beside = Path(sys.executable).parent / "switchboard"
    found = str(beside) if beside.exists() else shutil.which("switchboard")
    if found is None:
        raise LabError("no `switchboard` command: install the project (pip install -e .)")
    return [found]


def wait_for_health(base_url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    """Until GET /health answers (any status: the console is up); fails early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LabError(f"the console exited with {process.returncode} before answering /health")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # 503: the console answers, its store does not
        except OSError:
            time.sleep(0.1)
    raise LabError(f"the console at {base_url} did not answer /health within {timeout:.0f} s")


def start_console(
    site_path: Path, port: int, *, timeout: float = 30.0, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`switchboard serve` on 127.0.0.1:`port` for the site file, once /health answers. Its output goes to
    console-<port>.log beside the site file; stop it with stop_console(process)."""
    log_path = Path(site_path).parent / f"console-{port}.log"
    command = [*_switchboard_command(), "serve", "--config", str(site_path), "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, timeout)
    except LabError as exc:
        stop_console(process)
        raise LabError(f"{exc}; its log: {log_path.read_text(errors='replace')[-2000:]}") from None
    return process


def stop_console(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (uvicorn closes cleanly), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


@contextlib.asynccontextmanager
async def serve_console(lab: LabStack) -> AsyncIterator[str]:
    """`switchboard serve` on a started LabStack's site file, its store holding tests.console_support's accounts:
    yields the console's base URL, and stops it after."""
    assert lab.site and lab.site_path, "the lab is not started"
    prepare_store(lab.site)
    port = free_port()
    process = await asyncio.to_thread(start_console, lab.site_path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(stop_console, process)


async def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll a quick browser check without blocking the event loop a LabStack's platform runs in; its first truthy
    value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def text_of(driver: WebDriver, css: str) -> str:
    """The shown text of the first match ("" when there is none, it is hidden, or the page is being reloaded)."""
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found and found[0].is_displayed() else ""
    except StaleElementReferenceException:
        return ""


def wait_for(driver: WebDriver, css: str, timeout: float = 10.0, visible: bool = True) -> WebElement:
    """The element matching `css` once it is there (and visible, unless visible=False)."""
    condition = (
        expected_conditions.visibility_of_element_located
        if visible
        else expected_conditions.presence_of_element_located
    )
    element: WebElement = WebDriverWait(driver, timeout).until(condition((By.CSS_SELECTOR, css)))
    return element


def sign_in(driver: WebDriver, base_url: str, name: str, password: str, timeout: float = 10.0) -> None:
    """Sign in through the sign-in page and wait until the browser has left it (AssertionError with the page's
    message when the console refuses)."""
    driver.get(f"{base_url}/login")
    wait_for(driver, "#name", timeout).send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "#password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#sign-in").click()
    try:
        WebDriverWait(driver, timeout).until(
            lambda d: "/login" not in d.current_url or d.find_elements(By.CSS_SELECTOR, "#login-error")
        )
    except TimeoutException:
        raise AssertionError(f"signing in as {name} did not finish within {timeout:.0f} s") from None
    errors = driver.find_elements(By.CSS_SELECTOR, "#login-error")
    if "/login" in driver.current_url and errors:
        raise AssertionError(f"signing in as {name} was refused: {errors[0].text}")


def sign_out(driver: WebDriver) -> None:
    """Press the header's Sign out button and wait for the sign-in page."""
    driver.find_element(By.CSS_SELECTOR, ".sign-out button").click()
    WebDriverWait(driver, 10).until(lambda d: "/login" in d.current_url)


def screenshot(driver: WebDriver, name: str) -> Path:
    """The page as docs/screenshots/<name>.png (the folder the README's pictures come from)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if not driver.save_screenshot(str(path)):
        raise AssertionError(f"Chromium could not write {path}")
    return path
