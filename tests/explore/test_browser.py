"""The explorer's page in a real browser (headless Chromium through Selenium): take a step,
see the state change, go back; jump in a loaded trace; names from a scenario stay text.

Skipped, with the reason, only when no Chromium or chromedriver is installed (Debian:
``apt-get install chromium chromium-driver``), as tests/reports/test_html_browser.py is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from gupcheck.designs import DESIGNS
from gupcheck.explore import Explorer, read_trace
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS
from tests.chromium import headless_chromium, needs_chromium

from .helpers import F1, f1_model, running, save_f1

pytestmark = needs_chromium

XSS = '<img src=x onerror="window.pwned=1">CPU0 <b>app</b>'


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    yield from headless_chromium()


def _at(driver: WebDriver, cursor: int, length: int | None = None) -> None:
    """Wait until the page shows state ``cursor`` (and a path of ``length`` states)."""
    def ready(d: WebDriver) -> bool:
        body = d.find_element(By.TAG_NAME, "body")
        return (body.get_attribute("data-cursor") == str(cursor)
                and (length is None or body.get_attribute("data-length") == str(length)))
    WebDriverWait(driver, 20).until(ready)


def _field(driver: WebDriver, field: str) -> str:
    return driver.find_element(
        By.CSS_SELECTOR, f'.group-state tr[data-field="{field}"] .new').text


def _errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_take_a_step_see_the_state_change_and_go_back(browser: WebDriver) -> None:
    with running(Explorer(f1_model())) as srv:
        browser.get(srv.url)
        _at(browser, 0, 1)
        assert "the initial state" in browser.find_element(By.ID, "here").text
        assert _field(browser, "page 0 flags") == "private"
        steps = browser.find_elements(By.CSS_SELECTOR, "#steps li.step")
        assert steps[0].find_element(By.CSS_SELECTOR, ".func").text == "__get_user_pages"
        assert steps[0].find_element(By.CSS_SELECTOR, ".actor").text == "CPU0 app"

        steps[0].click()
        _at(browser, 1, 2)
        assert "after CPU0 app: __get_user_pages" in browser.find_element(By.ID, "here").text
        assert _field(browser, "page 0 flags") == "locked dirty private"
        row = browser.find_element(By.CSS_SELECTOR,
                                   '.group-state tr.changed[data-field="page 0 flags"]')
        assert row.find_element(By.CSS_SELECTOR, ".old").text == "private"
        assert row.find_element(By.CSS_SELECTOR, "td").value_of_css_property(
            "background-color") not in ("rgba(0, 0, 0, 0)", "transparent")

        browser.find_element(By.ID, "back").click()
        _at(browser, 0, 2)  # the path keeps the step: forward can retake it
        assert _field(browser, "page 0 flags") == "private"
        assert not browser.find_elements(By.CSS_SELECTOR, ".group-state tr.changed")
        assert browser.find_element(By.CSS_SELECTOR, "#steps li.step.next").get_attribute(
            "data-index") == "0"
        browser.find_element(By.ID, "forward").click()
        _at(browser, 1, 2)
        assert _field(browser, "page 0 flags") == "locked dirty private"
        assert _errors(browser) == []


def test_jump_to_the_violation_of_a_loaded_trace(browser: WebDriver, tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    ex = Explorer.from_trace(f1_model(), read_trace(tmp_path / "f1.json"))
    with running(ex) as srv:
        browser.get(srv.url)
        _at(browser, 0, n + 1)
        assert "Loaded trace" in browser.find_element(By.ID, "origin").text
        prop = f'#props tr[data-property="{F1[2]}"]'
        assert browser.find_element(By.CSS_SELECTOR, prop).get_attribute("data-status") == "holds"
        browser.find_elements(By.CSS_SELECTOR, "#path li")[n].click()
        _at(browser, n, n + 1)
        assert browser.find_element(By.CSS_SELECTOR, prop).get_attribute(
            "data-status") == "violated"
        assert "bio_set_pages_dirty" in browser.find_element(By.ID, "here").text
        assert _errors(browser) == []


def test_an_actor_name_with_markup_is_shown_as_text(browser: WebDriver) -> None:
    sc = SCENARIOS[F1[0]]
    actors = (dataclasses.replace(sc.actors[0], name=XSS), *sc.actors[1:])
    model = KernelModel(dataclasses.replace(sc, name="<i>x</i>", actors=actors),
                        DESIGNS[F1[1]])
    with running(Explorer(model, title="<i>x</i> under linux-6.1")) as srv:
        browser.get(srv.url)
        _at(browser, 0)
        first = browser.find_element(By.CSS_SELECTOR, "#steps li.step .actor")
        assert first.text == XSS
        first.click()
        _at(browser, 1)
        assert browser.find_element(By.CSS_SELECTOR, "#path li.current .actor").text == XSS
        assert browser.find_element(By.ID, "title").text == "<i>x</i> under linux-6.1"
        assert not browser.find_elements(By.CSS_SELECTOR, "main img, main b:not(.actor) b, "
                                                          "#title i")
        assert browser.execute_script("return window.pwned === undefined")


def test_find_a_violation_from_here_goes_to_it(browser: WebDriver) -> None:
    with running(Explorer(f1_model())) as srv:
        browser.get(srv.url)
        _at(browser, 0, 1)
        Select(browser.find_element(By.ID, "find-prop")).select_by_value(F1[2])
        browser.find_element(By.ID, "find").click()
        WebDriverWait(browser, 30).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-cursor") != "0")
        cursor = browser.find_element(By.TAG_NAME, "body").get_attribute("data-cursor")
        assert browser.find_element(By.TAG_NAME, "body").get_attribute(
            "data-length") == str(int(cursor) + 1)
        assert "violated" in browser.find_element(By.ID, "notice").text
        prop = browser.find_element(By.CSS_SELECTOR, f'#props tr[data-property="{F1[2]}"]')
        assert prop.get_attribute("data-status") == "violated"
        assert Select(browser.find_element(By.ID, "find-prop")).first_selected_option.text \
            == F1[2]  # the choice survives the page's update
        assert _errors(browser) == []
