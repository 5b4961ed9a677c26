"""The HTML reports in a real browser (headless Chromium through Selenium): step through a
trace and read the panel; follow a matrix cell's link to its trace.

Skipped, with the reason, only when no Chromium or chromedriver is installed (Debian:
``apt-get install chromium chromium-driver``; ``.ci/run`` installs them when apt works).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.kernel.system import KernelModel
from gupcheck.lab import run_matrix
from gupcheck.reports.html import matrix_page, trace_page
from gupcheck.scenarios import SCENARIOS
from tests.chromium import headless_chromium, needs_chromium

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    yield from headless_chromium()


def _panel(root: WebDriver | WebElement) -> WebElement:
    return root.find_element(By.CSS_SELECTOR, ".panel")


def _func(root: WebDriver | WebElement) -> str:
    return _panel(root).find_element(By.CSS_SELECTOR, ".who .func").text


def _changed(root: WebDriver | WebElement) -> list[str]:
    return [tr.get_attribute("data-field") for tr in
            _panel(root).find_elements(By.CSS_SELECTOR, "table.state tr.changed")]


def _status(root: WebDriver | WebElement, prop: str) -> str:
    row = _panel(root).find_element(By.CSS_SELECTOR, f'tr.prop[data-property="{prop}"]')
    return row.get_attribute("data-status") or ""


def _errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_stepping_through_a_trace_shows_each_steps_state(browser: WebDriver,
                                                         tmp_path: Path) -> None:
    model = KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"], ["dirty-has-backing"])
    page = tmp_path / "f1.html"
    page.write_text(trace_page(check(model), model), encoding="utf-8")
    browser.get(page.as_uri())
    assert "Step 0 of 15" in _panel(browser).text  # the initial state is selected
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.step")
    assert len(rows) == 16

    rows[13].click()  # kswapd strips the buffers
    assert "selected" in (rows[13].get_attribute("class") or "")
    assert _func(browser) == "filemap_release_folio"
    assert "kswapd" in _panel(browser).find_element(By.CSS_SELECTOR, ".who .actor").text
    changed = _changed(browser)
    assert "page 0 flags" in changed and "folio #0 buffers" in changed
    assert "page 0 data" not in changed
    flags = _panel(browser).find_element(By.CSS_SELECTOR, 'tr.changed[data-field="page 0 flags"]')
    assert flags.find_element(By.CSS_SELECTOR, ".old").text == "locked private isolated"
    assert flags.find_element(By.CSS_SELECTOR, ".new").text == "locked isolated"
    # the highlight is visible, not only a class name
    assert flags.find_element(By.CSS_SELECTOR, "td").value_of_css_property(
        "background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert _status(browser, "dirty-has-backing") == "holds"

    browser.find_element(By.CSS_SELECTOR, "button.next").click()
    assert _func(browser) == "__remove_mapping"
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)
    assert "Step 15 of 15" in _panel(browser).text
    assert _func(browser) == "bio_set_pages_dirty"
    assert _status(browser, "dirty-has-backing") == "violated"
    assert "VIOLATED — dirty-has-backing" in _panel(browser).find_element(
        By.CSS_SELECTOR, ".failure").text
    assert "page 0 flags" in _changed(browser)
    ghost = _panel(browser).find_element(By.CSS_SELECTOR,
                                         'tr.changed[data-field="ghost.violations"] .new')
    assert "dirty-has-backing" in (ghost.get_attribute("textContent") or "")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_DOWN)  # already the last
    assert "Step 15 of 15" in _panel(browser).text
    browser.find_element(By.CSS_SELECTOR, "button.prev").click()
    assert _status(browser, "dirty-has-backing") == "holds"
    assert not _panel(browser).find_elements(By.CSS_SELECTOR, ".failure")
    assert _errors(browser) == []


def test_a_matrix_cells_link_opens_its_trace(browser: WebDriver, tmp_path: Path) -> None:
    designs = ["linux-6.1", "linux-6.12"]
    cells = run_matrix([SCENARIOS["dio-vs-reclaim"]], [DESIGNS[d] for d in designs])
    page = tmp_path / "m.html"
    page.write_text(matrix_page(cells, designs, SCENARIOS, DESIGNS), encoding="utf-8")
    browser.get(page.as_uri())
    sections = browser.find_elements(By.CSS_SELECTOR, "section.trace")
    assert sections and not any(s.is_displayed() for s in sections)  # only on demand

    cell = browser.find_elements(By.CSS_SELECTOR, "td.cell")[0]  # dio-vs-reclaim × linux-6.1
    assert cell.get_attribute("data-verdict") == "violated"
    link = next(a for a in cell.find_elements(By.TAG_NAME, "a") if a.text.startswith("P2b@"))
    length = int(link.text.split("@")[1])  # read now: the matrix is hidden once a trace shows
    link.click()
    target = browser.find_element(By.ID, link.get_attribute("href").split("#")[1])
    assert target.is_displayed()
    assert [s for s in sections if s.is_displayed()] == [target]
    assert "dio-vs-reclaim under linux-6.1 — dirty-has-backing" in target.find_element(
        By.CSS_SELECTOR, ".title").text
    steps = target.find_elements(By.CSS_SELECTOR, "tr.step")
    assert len(steps) - 1 == length
    assert "Step 0 of" in _panel(target).text  # the viewer started on this trace
    steps[-1].click()
    assert _func(target) == "bio_set_pages_dirty"
    assert _status(target, "dirty-has-backing") == "violated"
    target.find_element(By.TAG_NAME, "button").send_keys(Keys.ARROW_UP)
    assert _status(target, "dirty-has-backing") == "holds"

    browser.find_element(By.LINK_TEXT, "↑ back to the matrix").click()
    assert not target.is_displayed()
    assert _errors(browser) == []


# --- layout at 1400 px ---------------------------------------------------------------------------

#: for each text piece of a box's function name, how many lines it is drawn on (a piece is
#: what lies between two <wbr>: drawn on two lines, it is broken mid-word)
_PIECE_LINES = r"""
var out = [];
document.querySelectorAll('.box .fn').forEach(function (fn) {
  fn.childNodes.forEach(function (n) {
    if (n.nodeType !== 3 || !/^\S+$/.test(n.textContent)) { return; }  // one word
    var r = document.createRange(); r.selectNodeContents(n);
    var tops = new Set(Array.from(r.getClientRects()).map(function (x) {
      return Math.round(x.top);
    }));
    out.push([n.textContent, tops.size]);
  });
});
return out;
"""


def test_six_lanes_fit_at_1400_px_and_names_break_only_after_underscores(
        browser: WebDriver, tmp_path: Path) -> None:
    model = KernelModel(SCENARIOS["mkwrite-unpin-vs-munmap"], DESIGNS["bounce-writeback-mkwrite"])
    page = tmp_path / "dl.html"
    page.write_text(trace_page(check(model), model), encoding="utf-8")
    browser.get(page.as_uri())
    heads = browser.find_elements(By.CSS_SELECTOR, "th.lane-head")
    assert len(heads) >= 6
    wrap = browser.find_element(By.CSS_SELECTOR, ".seq-wrap")
    right = wrap.rect["x"] + wrap.rect["width"]
    for th in heads:  # every lane is visible, none clipped or behind a scroll bar
        assert th.rect["x"] + th.rect["width"] <= right + 1, th.text
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth",
                                  wrap)
    broken = [piece for piece, lines in browser.execute_script(_PIECE_LINES) if lines > 1]
    assert broken == []
    assert _errors(browser) == []


def _top_in_page(browser: WebDriver, element: WebElement) -> float:
    return float(browser.execute_script(
        "return arguments[0].getBoundingClientRect().top + window.scrollY", element))


def test_a_trace_reached_from_the_matrix_starts_at_the_top_of_the_page(
        browser: WebDriver, tmp_path: Path) -> None:
    designs = ["linux-6.1"]
    cells = run_matrix([SCENARIOS["dio-vs-reclaim"], SCENARIOS["fork-after-pin"]],
                       [DESIGNS[d] for d in designs])
    page = tmp_path / "m.html"
    page.write_text(matrix_page(cells, designs, SCENARIOS, DESIGNS), encoding="utf-8")
    browser.get(page.as_uri())
    link = browser.find_elements(By.CSS_SELECTOR, "td.cell a")[1]
    ident = link.get_attribute("href").split("#")[1]
    link.click()
    target = browser.find_element(By.ID, ident)
    assert target.is_displayed()
    # nothing above it: neither blank space nor the matrix scrolled out of view
    assert _top_in_page(browser, target) < 60
    assert not browser.find_element(By.CSS_SELECTOR, "table.matrix").is_displayed()
    browser.find_element(By.LINK_TEXT, "↑ back to the matrix").click()
    assert browser.find_element(By.CSS_SELECTOR, "table.matrix").is_displayed()
    assert not target.is_displayed()

    browser.get(page.as_uri() + "#" + ident)  # a link into the page from elsewhere
    target = browser.find_element(By.ID, ident)
    assert target.is_displayed() and _top_in_page(browser, target) < 60
    assert browser.execute_script("return window.scrollY") < 60
    assert _errors(browser) == []
