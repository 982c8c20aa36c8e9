"""A real headless Chromium (Debian's, with its driver), logged in to a running Airflow through its own
login page, as a person would be. Screenshots go to var/screenshots/ for people to look at."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import REPO

SCREENSHOTS = REPO / "var" / "screenshots"


@contextmanager
def chromium(width: int = 1440, height: int = 1600) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--window-size={width},{height}", f"--user-data-dir={REPO / 'var' / 'chromium' / uuid.uuid4().hex}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver, airflow, page: str) -> None:
    """Open ``page`` (a path of the Airflow UI); not logged in, it sends to the login page: log in as admin."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 60)
    driver.get(f"{airflow.url}{page}")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[name=username]")))
    driver.find_element(By.CSS_SELECTOR, "input[name=username]").send_keys("admin")
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(airflow.admin_password())
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "/auth/login" not in d.current_url)
