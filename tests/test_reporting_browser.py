"""The HTML catalogue in a real headless browser (Chromium and chromedriver
from the system packages, driven by Selenium from the package index): every
page loads without console errors, the formulas render with KaTeX, and
every link, image, stylesheet and script resolves.  Skipped, with the
reason, without selenium, Chromium or KaTeX.  With TP_SCREENSHOTS=DIR the
overview and a claim page are saved there as PNG.  CI sets TP_REQUIRE_BROWSER=1
once it has installed them: then a missing piece fails the test instead."""

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from transformer_proofs.verify.reporting.katex import find_katex
from transformer_proofs.verify.reporting.site import write_site
from transformer_proofs.verify.reporting.stable import stabilise

from tests.reporting_sample import sample_document

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REQUIRED = os.environ.get("TP_REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    """Skip, saying why; fail where CI installed the browser and expects the test to run."""
    if REQUIRED:
        pytest.fail(f"TP_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _import_webdriver():
    try:
        from selenium import webdriver
    except ImportError:
        _missing("selenium is not installed (pip install '.[browser]')")
    return webdriver


FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    webdriver = _import_webdriver()
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _missing("chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_katex() is None:
        _missing("KaTeX not found (CI unpacks `npm pack katex` into .katex/; or apt-get install libjs-katex)")
    pytest.importorskip("matplotlib")
    reports = tmp_path_factory.mktemp("reports")
    (reports / "REPORT.md").write_text("# report\n")  # the index links to it
    doc = stabilise(sample_document())
    from transformer_proofs.verify.reporting.overview import overview_figure

    overview_figure(doc, reports)
    return write_site(doc, reports / "site", reports / "overview.png").parent


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _targets(driver) -> list[str]:
    script = ("return Array.from(document.querySelectorAll('a[href], img[src], link[href], script[src]'))"
              ".map(e => e.href || e.src);")
    return driver.execute_script(script)


def _check_target(url: str, driver) -> None:
    parsed = urlparse(url)
    assert parsed.scheme == "file", f"a link leaves the site: {url}"  # no network at view time
    path = Path(unquote(parsed.path))
    assert path.exists(), f"broken link: {url}"
    if parsed.fragment and path.suffix == ".html":
        assert f'id="{parsed.fragment}"' in path.read_text(), f"no anchor #{parsed.fragment} in {path.name}"


def test_every_page_loads_renders_its_math_and_links_resolve(browser, site: Path) -> None:
    pages = [site / "index.html"] + sorted((site / "claims").glob("*.html"))
    rendered = 0
    for p in pages:
        browser.get(p.as_uri())
        assert _errors(browser) == [], p.name
        for url in _targets(browser):
            _check_target(url, browser)
        maths = browser.find_elements("css selector", ".math")
        if maths:
            assert browser.find_elements("css selector", ".katex"), f"{p.name}: formulas not rendered"
            assert not browser.find_elements("css selector", ".katex-error"), p.name
            rendered += 1
    assert rendered >= 3  # the sample's claims with formulas


def test_filters_narrow_the_index(browser, site: Path) -> None:
    browser.get((site / "index.html").as_uri())
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "status")).select_by_value("refuted")
    shown = [r for r in browser.find_elements("css selector", "#claims tbody tr") if r.is_displayed()]
    assert [r.get_attribute("data-status") for r in shown] == ["refuted"]
    Select(browser.find_element("id", "status")).select_by_value("")
    Select(browser.find_element("id", "evidence")).select_by_value("block-lemma")
    shown = [r for r in browser.find_elements("css selector", "#claims tbody tr") if r.is_displayed()]
    assert shown and all("block-lemma" in r.get_attribute("data-evidence") for r in shown)
    assert "of" in browser.find_element("id", "count").text


def test_screenshots_when_asked(browser, site: Path) -> None:
    target = os.environ.get("TP_SCREENSHOTS")
    if not target:
        pytest.skip("TP_SCREENSHOTS not set")
    Path(target).mkdir(parents=True, exist_ok=True)
    browser.get((site / "index.html").as_uri())
    browser.save_screenshot(str(Path(target) / "overview.png"))
    browser.get((site / "claims" / "gd.preconditioned_printed.html").as_uri())
    browser.save_screenshot(str(Path(target) / "claim.png"))


def test_every_registered_formula_renders(browser, site: Path) -> None:
    """Every display formula of verify.reporting.formulas, not only the sample's: a TeX slip is a console error."""
    from html import escape

    from transformer_proofs.verify.reporting.formulas import FORMULAS
    from transformer_proofs.verify.reporting.site import page

    spans = {cid: "".join('<span class="math display">' + escape(f) + "</span>" for f in fs)
             for cid, fs in FORMULAS.items()}
    body = "".join(f'<p id="{cid}">{spans[cid]}</p>' for cid in sorted(spans))
    path = site / "claims" / "all-formulas.html"
    path.write_text(page("all formulas", body, 1, True))
    try:
        browser.get(path.as_uri())
        assert _errors(browser) == []
        assert len(browser.find_elements("css selector", ".katex-display")) == sum(len(f) for f in FORMULAS.values())
        assert not browser.find_elements("css selector", ".katex-error")
    finally:
        path.unlink()
