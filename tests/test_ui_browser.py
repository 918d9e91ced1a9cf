"""The browser door: `mlops-console serve` in Debian's headless chromium, driven by selenium over
chromium-driver. The page opens on the console itself (no start page to click through), the Overview shows
the demo's models, a key press opens the model page. What the browser received is read from the app's
websocket frames (the terminal draws on a canvas, so its text is not in the DOM); screenshots are kept in
tests/artifacts/ (gitignored)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


SRC = str(Path(__file__).resolve().parents[1] / "src")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from demo_copy import demo_at

    root = tmp_path_factory.mktemp("browser")
    config = demo_at(root / "ws")
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=SRC, XDG_CACHE_HOME=str(root / "cache"), TERM="xterm-256color")
    proc = subprocess.Popen([sys.executable, "-m", "console", "--config", str(config), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM and DRIVER, "apt-get install chromium chromium-driver (see .ci/run)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Frames:
    """The text the console sent to the page over its websocket, read from chromium's performance log."""

    def __init__(self, driver) -> None:
        self.driver, self.text = driver, ""

    def read(self) -> str:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") != "Network.webSocketFrameReceived":
                continue
            response = message["params"]["response"]
            data = response.get("payloadData", "")
            if response.get("opcode") == 2:
                try:
                    data = base64.b64decode(data).decode("utf-8", "replace")
                except ValueError:
                    continue
            self.text += data
        return self.text

    def wait_for(self, needle: str, rounds: int = 1200) -> None:
        for _ in range(rounds):
            if needle in self.read():
                return
            time.sleep(0.1)
        raise AssertionError(f"the page never received {needle!r}; got {len(self.text)} chars")


def test_serve_opens_on_the_console_and_a_key_opens_the_model_page(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(served)
    frames = Frames(browser)
    for model in ("delivery-eta", "fraud-detector", "support-assistant"):
        frames.wait_for(model)
    # no start page: the terminal is shown and the intro gone without a click
    assert browser.execute_script("return document.body.classList.contains('-first-byte')")
    assert not browser.find_element(By.CSS_SELECTOR, ".intro-dialog").is_displayed()
    time.sleep(1.0)
    browser.save_screenshot(str(ARTIFACTS / "serve-overview.png"))
    keys = browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")  # where xterm.js takes keys
    before = len(frames.read())
    keys.send_keys(Keys.ENTER)  # open the selected model (the first row)
    for _ in range(1200):
        sent = frames.read()[before:]
        if "SERVING" in sent and "HEALTH" in sent:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the model page never arrived")
    time.sleep(1.0)
    browser.save_screenshot(str(ARTIFACTS / "serve-model-page.png"))
