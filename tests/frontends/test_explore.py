"""The shrinkage explorer: its settings, its page, and the page in a real browser.

The browser tests drive Debian's headless Chromium through Selenium and compare every number
the page shows with hierarch's Python computation for the same settings and seed:
``simulate.explorer_data`` (the data), ``simulate.pooling_estimates`` (the REML twin's pooling
weights and estimates, the grid posterior) and ``simulate.pooling_mse``.  Tolerances: the
simulated data to 1e-12 (the page's ``Math.log``/``Math.cos`` may differ from the C library's
in the last bit); REML estimates to 1e-6 (the page solves the REML equation to machine
precision, the twin's optimiser stops within ~1e-8 of the optimum); the grid posterior to
1e-9 (the same grid in both languages).  Without Chromium the browser tests say they are
skipped.  ``HIERARCH_SCREENSHOTS=docs pytest tests/frontends/test_explore.py`` also writes a
screenshot of each view (the ones under ``docs/`` were made so).
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import hierarch
from hierarch import simulate
from hierarch.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: the rows of the page's MSE table, in order
METHODS = ("complete", "no_pooling", "partial", "bayes")


# ---- without a browser ---------------------------------------------------------------------
def test_page_is_self_contained(tmp_path):
    page = hierarch.explore(J=8, sigma_u=0.5, view="bayes")
    path = page.save(tmp_path / "e.html")
    text = path.read_text()
    assert '"J": 8' in text and '"view": "bayes"' in text
    # nothing to fetch: no external script, style, image or font
    for needle in ('src="http', 'href="http', "@import", "url(http", "<link"):
        assert needle not in text
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;svg" in frame


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"J": 1}, "J = 1 is outside its slider's range 2-100"),
        ({"J": 2.5}, "J must be a whole number"),
        ({"sigma_e": 0.0}, "sigma_e = 0.0 is outside"),
        ({"balance": "all"}, "balance must be a number"),
        ({"view": "shrunk"}, "view must be one of"),
        ({"n_sims": 7}, "n_sims must be one of"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hierarch.explore(**kwargs)


def test_save_needs_html(tmp_path):
    with pytest.raises(ValueError, match="ending in .html"):
        hierarch.explore().save(tmp_path / "e.png")


def test_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "class" / "explorer.html"
    assert main(["explore", "--out", str(out), "--J", "12", "--view", "none"]) == 0
    assert "needs no network" in capsys.readouterr().out
    assert '"J": 12' in out.read_text() and '"view": "none"' in out.read_text()
    with pytest.raises(SystemExit, match="sigma_u = 9.0 is outside"):
        main(["explore", "--out", str(out), "--sigma_u", "9"])


def test_explorer_data_sizes():
    sizes = simulate.explorer_data(J=30, n_mean=6, balance=0.0, seed=3).groupby("group").size()
    assert sizes.min() >= 1 and sizes.nunique() > 3
    assert abs(sizes.mean() - 6) < 1.5  # exponential spread around the mean size
    equal = simulate.explorer_data(J=10, n_mean=6, balance=1.0, seed=3).groupby("group").size()
    assert set(equal) == {6}
    with pytest.raises(ValueError, match="balance must be between 0"):
        simulate.explorer_data(balance=2)


# ---- in a browser --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "no headless Chromium here: install Debian's chromium and chromium-driver "
            "(.ci/run does) to run the explorer's browser tests"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1700",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    # the network off: any request the page tried would fail (and show in the console)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    yield driver
    driver.quit()


def _wait_ready(driver, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        snap = driver.execute_script("return window.explorer.snapshot()")
        if snap["ready"]:
            return snap
        time.sleep(0.05)
    raise AssertionError("the explorer did not finish its averaged MSE in time")


def _column(driver, table, index):
    cells = driver.find_elements("css selector", f"#{table} tbody tr td:nth-child({index})")
    return np.array([float(c.get_attribute("data-value")) for c in cells])


def _check_against_python(driver, *, averaged):
    """Everything the page shows equals hierarch's computation for its settings and seed."""
    snap = _wait_ready(driver)
    assert snap["errors"] == []
    s = snap["settings"]
    scenario = {k: s[k] for k in ("J", "n_mean", "sigma_u", "sigma_e", "balance")}
    df = simulate.explorer_data(seed=s["seed"], **scenario)
    sizes = df.groupby("group").size().to_numpy()
    np.testing.assert_array_equal(snap["sizes"], sizes)
    np.testing.assert_allclose(np.concatenate(snap["y"]), df["y"], rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():  # a singular fit (tau = 0) is checked like any other
        warnings.simplefilter("ignore", hierarch.FitWarning)
        est = simulate.pooling_estimates(df, bayes=True)
    truth = df.groupby("group")["true_mean"].first()
    # the numbers as the page shows them (its tables carry each value in full)
    shown = {
        "n": _column(driver, "clusters", 2),
        "no_pooling": _column(driver, "clusters", 3),
        "alpha": _column(driver, "clusters", 4),
        "partial": _column(driver, "clusters", 5),
        "bayes_alpha": _column(driver, "clusters", 6),
        "bayes": _column(driver, "clusters", 7),
    }
    np.testing.assert_array_equal(shown["n"], sizes)
    np.testing.assert_allclose(shown["no_pooling"], est["no_pooling"], atol=1e-12)
    np.testing.assert_allclose(shown["alpha"], est["alpha"], atol=1e-6)
    np.testing.assert_allclose(shown["partial"], est["partial"], atol=1e-6)
    np.testing.assert_allclose(shown["bayes_alpha"], est["bayes_alpha"], atol=1e-9)
    np.testing.assert_allclose(shown["bayes"], est["bayes"], atol=1e-9)
    mse_shown = dict(zip(METHODS, _column(driver, "mse", 2), strict=True))
    for m, value in mse_shown.items():
        assert value == pytest.approx(float(np.mean((est[m] - truth) ** 2)), abs=1e-6), m
    if averaged:
        table = simulate.pooling_mse(
            n_sims=s["n_sims"],
            seed=1000 * s["seed"] + 1,
            simulator=simulate.explorer_data,
            bayes=True,
            **scenario,
        )
        avg = dict(zip(METHODS, _column(driver, "mse", 3), strict=True))
        se = dict(zip(METHODS, _column(driver, "mse", 4), strict=True))
        for m in avg:
            assert avg[m] == pytest.approx(table.loc[m, "mse"], abs=1e-6), m
            assert se[m] == pytest.approx(table.loc[m, "mse_se"], abs=1e-6), m
    return snap, est


def _screenshot(driver, name):
    folder = os.environ.get("HIERARCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"explorer_{name}.png"))


def test_explorer_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    path = hierarch.explore(n_sims=20).save(tmp_path / "explorer.html")
    browser.get(path.as_uri())
    snap, est = _check_against_python(browser, averaged=True)
    assert snap["view"] == "partial"
    # nothing was fetched and nothing went wrong
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    console = browser.get_log("browser")
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []

    # hover text: each cluster's alpha_j
    first = browser.find_element("css selector", 'circle.estimate[data-cluster="1"] title')
    assert f"α_j = {est['alpha'].iloc[0]:.3f}" in first.get_attribute("textContent")

    # every view, and a screenshot of each
    for view in ("complete", "none", "partial", "bayes"):
        browser.find_element("css selector", f'#views button[data-view="{view}"]').click()
        assert browser.execute_script("return window.explorer.state.view") == view
        shown = browser.find_element("css selector", "#taupost").is_displayed()
        assert shown == (view == "bayes")
        _screenshot(browser, view)

    # the sliders, moved as a student would (keyboard steps), and the truth toggle
    slider = browser.find_element("id", "J")
    slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    seed = browser.find_element("id", "seed")
    seed.send_keys(Keys.ARROW_RIGHT * 4)
    browser.find_element("id", "sigma_u").send_keys(Keys.ARROW_LEFT * 10)
    browser.find_element("id", "show_truth").click()
    snap, _ = _check_against_python(browser, averaged=False)
    assert (snap["settings"]["J"], snap["settings"]["seed"]) == (18, 5)
    assert snap["settings"]["sigma_u"] == pytest.approx(1.0)
    assert len(browser.find_elements("css selector", "#chart text")) > 18  # the x marks

    # a preset where the Bayesian estimate differs from the plug-in, with its average
    browser.find_element("css selector", '#presets button[data-preset="few"]').click()
    snap, est = _check_against_python(browser, averaged=True)
    assert snap["settings"]["J"] == 5 and snap["settings"]["sigma_u"] == 0.5
    # few clusters, small tau: the posterior mean of tau is above the REML estimate
    assert snap["bayes"]["tauMean"] > snap["reml"]["tau"]
    _screenshot(browser, "bayes_few_clusters")
    for preset in ("similar", "different", "noisy", "small", "default"):
        browser.find_element("css selector", f'#presets button[data-preset="{preset}"]').click()
        _check_against_python(browser, averaged=False)

    # the hospital question, worked through with the page's own sliders
    browser.find_element("id", "h_tau").send_keys(Keys.ARROW_RIGHT * 2)  # tau: 2 -> 3 points
    answer = browser.find_element("id", "hospital_answer")
    tau, pbar = 0.03, 0.05
    for n, key in ((500, "alphaA"), (5, "alphaB")):
        expected = tau**2 / (tau**2 + pbar * (1 - pbar) / n)
        assert float(answer.get_attribute(f"data-{key.replace('A', '-a').replace('B', '-b')}")) == (
            pytest.approx(expected, rel=1e-12)
        )
    ratio = stats.binom.pmf(3, 5, 0.6) / stats.binom.pmf(3, 5, 0.042)
    assert float(answer.get_attribute("data-ratio")) == pytest.approx(ratio, rel=1e-12)
    assert f"{ratio:.0f} to 1" in answer.text
    console = browser.get_log("browser")
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
