"""The office console end to end in headless Chromium (Debian's chromium + chromium-driver, driven
by Selenium; no browser is downloaded): sign in with an office token, find a member, file an
adjustment and a claim, see the new balance. Saves docs/office-console.png (shown in the README)."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from processors.model import JST
from tests import office_support  # noqa: F401 - registers the office topics with the harness
from tests.harness import Publisher, bill, enrollment, posting, settings_for, wait_processed
from tests.office_server import ROOT, OfficeServer

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and shutil.which(DRIVER)),
                                reason="Debian's chromium and chromium-driver are not installed "
                                       "(make test installs them: apt-get install chromium chromium-driver)")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,2200", "--lang=ja-JP"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def test_console_sign_in_find_adjust_claim(browser, kafka_bootstrap, redis_url, redis_clean, topics, unique,
                                           tmp_path):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def submit(button_id: str) -> None:
        """Click and wait for the next page (the form posts, the server redirects)."""
        old = b.find_element(By.TAG_NAME, "html")
        b.find_element(By.ID, button_id).click()

        def left(driver) -> bool:  # the old page is gone: stale, or (Chromium, mid-navigation) no such node
            try:
                old.is_enabled()
                return False
            except WebDriverException:  # StaleElementReferenceException is one
                return True
        WebDriverWait(b, 60).until(left)
        WebDriverWait(b, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    bd = datetime.now(JST).date() - timedelta(days=10)
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment("OH0000042", (bd - timedelta(days=90)).isoformat()))
    pub.send("postings", posting("CON-1", "OH0000042", "86000", nights=2, bdate=bd.isoformat()))
    pub.send("bills", bill("CON-B1", "OH0000042", [("FOOD", "12400"), ("BEVERAGE", "3600"), ("TAX", "1600")],
                           bdate=bd.isoformat()))
    pub.send("postings", posting("FD-2207", None, "42000", bdate=bd.isoformat()))  # forgot the card
    pub.flush()

    with OfficeServer(kafka_bootstrap, redis_url, topics, unique, tmp_path) as srv:
        wait_processed(settings_for(kafka_bootstrap, redis_url, topics, unique))
        b = browser
        # a member-app token cannot sign in
        b.get(srv.url("/office/"))
        assert "/office/login" in b.current_url
        b.find_element(By.ID, "token").send_keys(srv.app_token)
        submit("signin")
        assert "member-app" in b.find_element(By.ID, "error").text
        # the office token can
        b.find_element(By.ID, "token").send_keys(srv.office_token)
        submit("signin")
        b.find_element(By.ID, "member").send_keys("OH0000042")
        submit("find")
        assert b.current_url.endswith("/office/members/OH0000042")
        assert b.find_element(By.ID, "balance").text.startswith("1,880")  # 1,720 room + 160 restaurant
        assert "2泊" not in b.page_source and "CON-1" in b.find_element(By.ID, "ledger").text

        # an adjustment: the result and the new balance
        b.find_element(By.ID, "adj-points").send_keys("500")
        Select(b.find_element(By.ID, "adj-reason")).select_by_visible_text("SERVICE_RECOVERY")
        b.find_element(By.ID, "adj-note").send_keys("空調故障のお詫び (air conditioning broken)")
        submit("adj-submit")
        assert "APPLIED" in b.find_element(By.ID, "adjustment-result").text
        assert b.find_element(By.ID, "balance").text.startswith("2,380")
        assert "SERVICE_RECOVERY by suzuki" in b.find_element(By.ID, "ledger").text

        # a claim for the charge posted without the card
        b.find_element(By.ID, "claim-source").send_keys("FD-2207")
        submit("claim-submit")
        result = b.find_element(By.ID, "claim-result").text
        assert "EARNED" in result and "+840" in result
        assert b.find_element(By.ID, "balance").text.startswith("3,220")
        # the same charge again: refused with its reason, balance unchanged
        b.find_element(By.ID, "claim-source").send_keys("FD-2207")
        submit("claim-submit")
        assert "ALREADY_CREDITED" in b.find_element(By.ID, "claim-result").text
        assert b.find_element(By.ID, "balance").text.startswith("3,220")
        # a zero adjustment is rejected with its reason
        b.find_element(By.ID, "adj-points").send_keys("0")
        submit("adj-submit")
        assert "ZERO_POINTS" in b.find_element(By.ID, "adjustment-result").text
        b.get(srv.url("/office/members/OH0000042"))
        docs = ROOT / "docs" / "office-console.png"
        b.set_window_size(1280, 800)
        height = b.execute_script("return document.body.scrollHeight")
        b.set_window_size(1280, int(height) + 140)  # + the window's frame
        b.save_screenshot(str(docs))
        assert docs.stat().st_size > 10_000
