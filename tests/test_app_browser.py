"""The design explorer in a real browser: Debian's chromium driven by PyPI playwright against
``hwsim app``'s Streamlit command on 127.0.0.1. Moves the density slider and checks the energy card
becomes the API's value, adds a second chip, opens every page (the Serving page's TTFT p90 and
energy per token must equal ``serve_tokens``'s), saves screenshots and prints how long each
interaction took to render. Skipped, with the reason printed, when chromium is missing
(``scripts/ensure_chromium.sh`` installs it where it can)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import hwsim
from hwsim.app import fmt
from hwsim.app.launch import streamlit_command

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
MODEL = "selective-llama2-7b"  # the app's default: top-k FFN sparsity and a literature accuracy
FIRST, SECOND = "sparseflow-accel", "a100-sxm-80gb"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("HWSIM_CHROMIUM"), shutil.which("chromium"),
                      "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def skip_loudly(reason: str) -> None:
    print(f"\nSKIPPED browser test: {reason}", file=sys.stderr)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "streamlit-server.log").open("w")
    proc = subprocess.Popen(
        streamlit_command(port),  # what `hwsim app` runs: the packaged script
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not come up; see {ARTIFACTS / 'streamlit-server.log'}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def energy_of(density: float, chip: str) -> str:
    sp = [f"*.ffn_up:topk:density={density!r}", f"*.ffn_down:topk:density={density!r}"]
    r = hwsim.simulate(MODEL, chip, sparsity=sp, compare_dense=True)
    return fmt.joules(r.total.energy_j)


def energy_card(page, chip: str):
    return (page.locator(f".st-key-card-{chip} [data-testid='stMetric']")
            .filter(has_text="Energy / inference").locator("[data-testid='stMetricValue']"))


def serving_cards() -> dict[str, str]:
    """The Serving page's default run (hwsim.app.serving's defaults) through the API."""
    from hwsim.app.serving import DEFAULT_CHIP, DEFAULT_DURATION_S, DEFAULT_MODEL
    from hwsim.serving import serve_tokens

    d = serve_tokens(DEFAULT_MODEL, DEFAULT_CHIP, rate_per_s=4.0, duration_s=DEFAULT_DURATION_S,
                     prompt_tokens=512, output_tokens=128, slo_ttft_s=0.5,
                     slo_tpot_s=0.05).to_dict()
    return {"ttft_p90": fmt.seconds(d["ttft_s"]["p90"]),
            "energy_per_token": fmt.joules(d["energy_j_per_token"])}


def metric(page, label: str):
    return (page.locator("[data-testid='stMetric']").filter(has_text=label)
            .locator("[data-testid='stMetricValue']"))


def wait_for(expect, locator, text: str, timeout_s: float = 30.0) -> None:
    expect(locator).to_have_text(text, timeout=timeout_s * 1000)


def test_browser_review(server: str) -> None:
    exe = chromium_path()
    if exe is None:
        skip_loudly("chromium not found (install Debian's chromium: scripts/ensure_chromium.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    expect = sync_api.expect
    want = {"first": energy_of(0.11, FIRST), "slider": energy_of(0.15, FIRST),
            "second": energy_of(0.15, SECOND), **serving_cards()}  # the API's values first
    timings: dict[str, float] = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1500})
        t0 = time.monotonic()
        page.goto(f"{server}/?chips={FIRST}&model={MODEL}")
        page.wait_for_selector("[data-testid='stApp']")
        wait_for(expect, energy_card(page, FIRST), want["first"], 120)
        timings["first_render_s"] = time.monotonic() - t0

        slider = page.get_by_role("slider", name="activation density (fraction active)")
        slider.focus()
        t0 = time.monotonic()
        slider.press("ArrowRight")  # 0.11 -> 0.15, the next step
        wait_for(expect, energy_card(page, FIRST), want["slider"])
        timings["density_slider_s"] = time.monotonic() - t0

        chips = page.locator(".st-key-chips input")
        chips.click()
        chips.fill(SECOND)
        t0 = time.monotonic()
        chips.press("Enter")
        wait_for(expect, energy_card(page, SECOND), want["second"])
        timings["add_second_chip_s"] = time.monotonic() - t0
        page.keyboard.press("Escape")
        page.mouse.click(900, 120)  # close the dropdown before the screenshot
        time.sleep(0.3)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "app.png"))
        docs_shot = REPO / "docs" / "app-screenshot.png"
        if not docs_shot.exists():
            docs_shot.parent.mkdir(exist_ok=True)
            shutil.copyfile(ARTIFACTS / "app.png", docs_shot)

        t0 = time.monotonic()
        page.get_by_role("link", name="Breakdown").click()
        page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=60000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3",
                               timeout=60000)
        timings["breakdown_page_s"] = time.monotonic() - t0
        page.screenshot(path=str(ARTIFACTS / "app-breakdown.png"))

        # Every other page renders in the browser without an exception; the sweep runs for real
        # and draws its Pareto scatter.
        for name in ("Sweep", "Distribution", "Claims", "Export"):
            t0 = time.monotonic()
            page.get_by_role("link", name=name).click()
            expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(
                timeout=60000)
            if name == "Sweep":
                page.get_by_role("button", name="Run sweep").click()
                page.wait_for_selector(".st-key-pareto .js-plotly-plot", timeout=120000)
            assert page.locator("[data-testid='stException']").count() == 0, name
            timings[f"{name.lower()}_page_s"] = time.monotonic() - t0
            page.screenshot(path=str(ARTIFACTS / f"app-{name.lower()}.png"))

        # The Serving page: its default run's TTFT p90 and energy per token, as serve_tokens.
        t0 = time.monotonic()
        page.get_by_role("link", name="Serving").click()
        wait_for(expect, metric(page, "TTFT p90"), want["ttft_p90"], 120)
        wait_for(expect, metric(page, "energy per token"), want["energy_per_token"], 60)
        timings["serving_numbers_s"] = time.monotonic() - t0  # the chosen rate's run
        page.wait_for_selector(".st-key-serve_rate_chart .js-plotly-plot", timeout=120000)
        assert page.locator("[data-testid='stException']").count() == 0
        timings["serving_page_s"] = time.monotonic() - t0  # + three more rates, both charts
        page.screenshot(path=str(ARTIFACTS / "app-serving.png"))
        browser.close()
    (ARTIFACTS / "app-timings.json").write_text(json.dumps(timings, indent=2))
    print("\nbrowser render times (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    assert timings["density_slider_s"] < 10 and timings["add_second_chip_s"] < 10
