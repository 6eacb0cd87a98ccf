"""The specs report (reports/features.html): one self-contained Japanese page that says what
failed, where and why, in the manual's order; checked as text and in headless Chromium."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import struct
import subprocess
import sys
import tomllib
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from simulations.html import Pictures
from tests.docs_shots import screenshot_path
from tests.living_docs import main
from tests.living_docs import page as living_page
from tests.living_docs.evidence import GIVEN_AT_BROWSER, given_lines, step_names
from tests.living_docs.inputs import (
    FEATURES,
    BrowserRun,
    error_summary,
    find_screenshots,
    named_tests,
    read_browser_run,
    scenarios,
)
from tests.living_docs.page import render
from tests.story import says

ROOT = Path(__file__).parent.parent
MADE_AT = datetime(2026, 4, 6, 3, 4, 5, tzinfo=UTC)
KEY = "012345678901"
FAILURE = f"AssertionError: 通知キー照合画面のはずがエラー画面 (通知キー: {KEY})"


def outline() -> dict[str, Any]:
    return next(s for s in scenarios() if s["examples"])


def cucumber(fail: bool = True) -> list[dict[str, Any]]:
    """Every scenario passed, except (``fail``) the second example row of the first outline,
    whose last step failed; pytest-bdd marks the steps after it failed with no message."""
    failing = outline()
    features: dict[str, list[dict[str, Any]]] = {}
    for s in scenarios():
        rows = [[c["value"] for c in row["cells"]] for e in s["examples"] for row in e["tableBody"]]
        for n, values in enumerate(rows or [[]]):
            broken = fail and n == 1 and (s["file"], s["line"]) == (failing["file"], failing["line"])
            suffix = f"[{'-'.join(values)}]" if values else ""
            features.setdefault(s["file"], []).append(
                {"id": f"test_{s['name']}{suffix}", "name": s["name"], "line": s["line"],
                 "steps": _steps(s, dict(zip(_header(s), values, strict=False)), broken)})
    return [{"uri": f"features/{f}", "elements": e} for f, e in features.items()]


def _header(s: dict[str, Any]) -> list[str]:
    return [c["value"] for c in s["examples"][0]["tableHeader"]["cells"]] if s["examples"] else []


def _steps(s: dict[str, Any], row: dict[str, str], broken: bool) -> list[dict[str, Any]]:
    """The steps of one run, the row's values put in (as pytest-bdd reports them)."""
    steps = []
    for i, st in enumerate(s["steps"]):
        result: dict[str, Any] = {"status": "passed"}
        if broken and i >= len(s["steps"]) - 2:
            message = (f"\n>   assert False\nE   {FAILURE}\n" if i == len(s["steps"]) - 2 else "")
            result = {"status": "failed", "error_message": message}
        text = re.sub(r"<([^>]+)>", lambda m: row.get(m.group(1), m.group(0)), st["text"])
        steps.append({"keyword": st["keyword"], "name": text,
                      "line": st["location"]["line"], "result": result})
    return steps


def failing_step_text() -> str:
    """As the page shows it: with the failing row's values."""
    element = next(e for f in cucumber() for e in f["elements"]
                   if e["steps"][-2]["result"]["status"] == "failed")
    return str(element["steps"][-2]["name"])


@pytest.fixture
def failed_page() -> str:
    return render(cucumber(), made_at=MADE_AT, commit="0123abcd")


def test_a_failure_is_counted_in_the_header_and_the_summary(failed_page: str) -> None:
    assert '<p class="verdict bad">1件失敗</p>' in failed_page
    assert "<title>仕様の実行結果: 1件失敗</title>" in failed_page
    summary = failed_page.split('id="summary"')[1].split("</section>")[0]
    assert "失敗" in summary and "<svg" in summary  # the counts and their chart
    assert "2026/04/06 12:04:05 (日本時間)" in failed_page and "0123abcd" in failed_page


def test_a_failure_is_open_with_its_row_step_and_message(failed_page: str) -> None:
    opened = re.search(r'<details class="scenario failed"[^>]*\bopen>', failed_page)
    assert opened, "the failed scenario is not open"
    failure = failed_page[opened.end():].split('<details class="scenario')[0]
    row = [c["value"] for c in outline()["examples"][0]["tableBody"][1]["cells"]]
    assert '<tr class="failed">' + "".join(f"<td>{v}</td>" for v in row) in failure
    assert re.search(r'<li class="step failed">.*?' + re.escape(html.escape(failing_step_text())), failure)
    assert "AssertionError: 通知キー照合画面のはずがエラー画面" in failure
    assert '<li class="step not-run">' in failure  # the step after the failure never ran
    assert KEY not in failed_page and "通知キー: ************" in failed_page


def test_a_failed_row_is_found_by_position_when_its_id_is_not_its_values() -> None:
    renamed = cucumber()
    for feature in renamed:  # pytest gives duplicate or odd values ids of its own
        for n, element in enumerate(feature["elements"]):
            element["id"] = re.sub(r"\[.*\]$", f"[row{n}]", element["id"])
    page = render(renamed, made_at=MADE_AT, commit="0123abcd")
    row = [c["value"] for c in outline()["examples"][0]["tableBody"][1]["cells"]]
    assert page.count('<tr class="failed">' + "".join(f"<td>{v}</td>" for v in row)) == 2


def test_the_header_says_whether_the_browser_run_of_the_screenshots_passed(
        tmp_path: Path) -> None:
    """./go report: the screenshots come from a browser run of its own, whose failures the
    scenarios' results (the services' run's) did not show; one that left no result, or
    none to read, is said so too."""
    xml = tmp_path / "browser-run.xml"
    assert read_browser_run(xml).problem == "結果がありません (実行が途中で止まりました)"
    xml.write_text("<testsuites><testsuite", encoding="utf-8")
    assert read_browser_run(xml).problem == "結果を読めません"
    xml.write_text('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
                   'errors="1" failures="2" skipped="1" tests="54"></testsuite></testsuites>',
                   encoding="utf-8")
    failed = read_browser_run(xml)
    assert failed == BrowserRun(passed=50, failed=3, skipped=1)
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd", browser=failed)
    assert '<p class="verdict bad">画面写真を撮ったブラウザでの実行: 3件失敗' in page
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd",
                  browser=BrowserRun(53, 0, 1))
    portal_runs = sum(len(f["elements"]) for f in cucumber(fail=False)
                      if f["uri"].endswith("portal.feature"))
    assert portal_runs > 0 and (  # (portal.feature's screenshots are this run's own)
        "上の結果は、シナリオの手順を画面を通さずアプリケーションで直接行った実行のものです "
        "(各手順の「画面の要点」は、その実行でアプリケーションが返した画面の題名とメッセージで、"
        "添えた時刻はシナリオの時計の日本時間です)。"
        f"ただし portal.feature の{portal_runs}件はこの実行の中でブラウザで操作しており "
        "(「画面の文字」はそのページの文字です。実際の時刻で動き、テスト用のお客様を使います)、その"
        "画面写真もこの実行で撮ったものです。ほかのシナリオの画面写真は、同じ手順をブラウザで"
        "行ったもう一つの実行で撮りました: 53件成功、失敗なし (画面のないシナリオ 1件は実行せず)。"
        ) in page
    assert "verdict bad" not in page
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd",
                  browser=read_browser_run(tmp_path / "none.xml"))
    assert '<p class="verdict bad">画面写真を撮ったブラウザでの実行: 結果がありません' in page


def test_each_rule_lists_the_tests_named_by_it_beside_its_scenarios(tmp_path: Path) -> None:
    """A scenario shows a rule by example; what an example cannot show (D-6's uniform
    digits, D-7's constant time) is proved by tests named by the rule, listed under it."""
    (tmp_path / "test_x.py").write_text(
        "def test_D_6_keys_are_uniform() -> None:\n    pass\n\n\n"
        "def test_LG_10_late() -> None:\n    pass\n\n\ndef test_no_rule() -> None:\n"
        "    pass\n\n\ndef helper_D_6_x() -> None:\n    pass\n", encoding="utf-8")
    assert named_tests(tmp_path) == {"D-6": [("tests/test_x.py", "test_D_6_keys_are_uniform")],
                                     "LG-10": [("tests/test_x.py", "test_LG_10_late")]}
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd")
    d6 = page.split('id="D-6"')[1].split('<div class="rule')[0]
    assert "シナリオのほかにこのルールを確かめるテスト" in d6
    assert "<code>test_D_6_keys_are_12_random_digits_leading_zeros_allowed</code>" in d6


def test_all_passing_reads_so_and_nothing_is_open() -> None:
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd")
    assert '<p class="verdict ok">すべて成功' in page and "失敗一覧" not in page
    assert " open>" not in page


def test_scenarios_that_did_not_run_are_said_so(tmp_path: Path) -> None:
    half = [{**f, "elements": f["elements"][: len(f["elements"]) // 2]} for f in cucumber(False)]
    skipped = sum(1 for s in scenarios()) - len({(f["uri"], e["line"]) for f in half
                                                  for e in f["elements"]})
    page = render(half, made_at=MADE_AT, commit="0123abcd")
    assert skipped and f'<p class="verdict warn">{skipped}シナリオ未実行</p>' in page
    only_failing_file = [f for f in cucumber() if f["uri"].endswith("/" + outline()["file"])]
    both = render(only_failing_file, made_at=MADE_AT, commit="0123abcd")
    assert re.search(r'<p class="verdict bad">1件失敗・\d+シナリオ未実行</p>', both)
    with pytest.raises(SystemExit, match="pytest が結果を書く前に止まりました"):
        main(str(tmp_path / "missing.json"), str(tmp_path / "features.html"))


def test_sections_follow_the_manual_with_contents_and_a_filter(failed_page: str) -> None:
    sections = tomllib.loads((FEATURES / "rules.toml").read_text(encoding="utf-8"))["sections"]
    places = [failed_page.index(f'<h2>{title}</h2>') for title in sections.values()]
    assert places == sorted(places)
    assert '<nav id="contents"><h2>目次</h2><ul>' in failed_page  # (an <ol> read 「1. 1. …」)
    assert all(f'href="#section-{s}"' in failed_page for s in sections)
    rules = tomllib.loads((FEATURES / "rules.toml").read_text(encoding="utf-8"))["rules"]
    assert f'<a href="#LG-5" title="{html.escape(rules["LG-5"])}">LG-5</a>' in failed_page
    assert failed_page.count('<a href="#contents">目次へ戻る</a>') == len(rules)  # (a rule's
    #   end, on a page of some hundred screens)
    assert '<form id="filter" class="no-print" hidden>' in failed_page  # shown by its script
    for name in ("status", "section", "tag"):
        assert f'data-filter="{name}"' in failed_page


def test_every_id_is_unique_and_every_link_has_its_target(failed_page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', failed_page)
    assert len(ids) == len(set(ids))
    assert set(re.findall(r'href="#([^"]+)"', failed_page)) <= set(ids)


def test_the_page_has_no_reference_outside_itself(tmp_path: Path) -> None:
    (tmp_path / "cucumber.json").write_text(json.dumps(cucumber(), ensure_ascii=False))
    main(str(tmp_path / "cucumber.json"), str(tmp_path / "features.html"))
    page = (tmp_path / "features.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:", page)
    assert not re.search(r'(src|href)="(?!#|data:)', page)  # only anchors and data: URIs


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (grey)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pictures_shown(fragment: str, page: str) -> list[Image.Image]:
    """The pictures a part of the page shows, decoded from where the page stores them."""
    stored = dict(re.findall(r'<image id="([^"]+)"[^>]* href="data:image/webp;base64,([^"]+)"',
                             page))
    return [Image.open(io.BytesIO(base64.b64decode(stored[ident])))
            for ident in re.findall(r'<use href="#([^"]+)"', fragment)]


def report_with_shots(tmp_path: Path) -> tuple[Path, list[dict[str, Any]], dict[str, Any]]:
    """A report of passing runs whose first scenario has a mail with a key, a screen, and a
    screenshot of a 前提 step and of its last step; the first outline's first row, one taken
    outside any step. Returns the page, the cucumber data and the first scenario as written."""
    data = cucumber(fail=False)
    first = data[0]["elements"][0]
    written = next(s for s in scenarios() if s["name"] == first["name"])
    given_step, last_step = written["steps"][0], written["steps"][-1]
    assert given_step["keywordType"] == "Context" and last_step["keywordType"] != "Context"
    (tmp_path / "cucumber.json").write_text(json.dumps(data, ensure_ascii=False))
    records = [{"test": first["id"], "line": first["steps"][-1]["line"], "kind": "mail",
                "text": f"件名: 【ビリングステーション】通知キーのお知らせ\n通知キー: {KEY}"},
               {"test": first["id"], "line": 0, "kind": "screen", "text": "トップページ 前回ログイン"},
               {"test": first["id"], "line": given_step["location"]["line"], "kind": "mail",
                "text": "件名: 前提で届いたメール"}]
    (tmp_path / "evidence.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    shots = tmp_path / "screenshots" / first["id"].removeprefix("test_") / "chromium"
    shots.mkdir(parents=True)
    (shots / f"01-login.L{given_step['location']['line']}.png").write_bytes(png(1280, 720))
    (shots / f"02-top.L{last_step['location']['line']}.png").write_bytes(png(1280, 720))
    outline_run = next(e for f in data for e in f["elements"] if "[" in e["id"])
    camera = tmp_path / "screenshots" / re.sub(r"[^\w\-]+", "_", outline_run["id"])  # as pytest names it
    camera.mkdir()
    (camera / "01-login.L0.png").write_bytes(png())
    main(str(tmp_path / "cucumber.json"), str(tmp_path / "features.html"))
    return tmp_path / "features.html", data, written


def test_a_step_that_took_many_screenshots_shows_its_first_and_last(tmp_path: Path) -> None:
    """D-14's spec logs in 20 times in one step: 20 screenshots of failed logins in a row
    buried the story; the first and the last are shown, the others folded between them."""
    data = cucumber(fail=False)
    first = data[0]["elements"][0]
    written = next(s for s in scenarios() if s["name"] == first["name"])
    line = written["steps"][-1]["location"]["line"]
    shots = tmp_path / "screenshots" / first["id"].removeprefix("test_")
    shots.mkdir(parents=True)
    for n in range(5):  # (each a picture of its own: none stored once for another)
        (shots / f"{n + 1:02d}-login.L{line}.png").write_bytes(png(8 + n, 3))
    page = render(data, made_at=MADE_AT, commit="0123abcd", screenshots=find_screenshots(tmp_path))
    assert page.count('<details class="more-shots"><summary>同じ手順の画面写真 ほか3枚</summary>') == 1
    shown, folded = page.split('<details class="more-shots">')
    assert shown.split('<div class="shots">')[-1].count("<figure") == 1  # the first, shown
    middle, after = folded.split("</details>", 1)
    assert middle.count("<figure") == 3 and after.split("</div>")[0].count("<figure") == 1
    last_step = written["steps"][-1]
    step = f"「{html.escape(last_step['keyword'] + ' ' + last_step['text'])}」"
    assert [f"<figcaption>画面写真 {n}/5 ({step}" in part for n, part in (
        (1, shown), (2, middle), (4, middle), (5, after))] == [True] * 4  # (numbered)


def test_evidence_and_screenshots_beside_their_scenario_with_keys_masked(tmp_path: Path) -> None:
    """Each screenshot is captioned with the step it was taken in (its name carries the
    line), the story's large enough to read, what the 前提 steps showed
    (screens, mails, screenshots) folded apart: an analyst could read no text in the
    screenshots, setup screens came first, captioned by English file names, and a setup's
    mail read as the scenario's."""
    report, data, written = report_with_shots(tmp_path)
    page = report.read_text(encoding="utf-8")
    first = data[0]["elements"][0]
    given_step, last_step = written["steps"][0], written["steps"][-1]
    outline_file, outline_run = next((f["uri"], e) for f in data for e in f["elements"]
                                     if "[" in e["id"])
    anchor = f'id="s-{Path(data[0]["uri"]).stem}-{first["line"]}"'
    scenario = page.split(anchor)[1].split("</details>\n")[0]
    assert "<figcaption>メール" in scenario and "通知キー: ************" in scenario
    assert "トップページ 前回ログイン" in scenario
    story, given = scenario.split('<details class="given">')
    last = f"{last_step['keyword'].strip()} {last_step['text']}"
    assert f"<figcaption>画面写真 (「{html.escape(last)}」で)</figcaption>" in story
    assert given.startswith(f"<summary>前提の画面とメール (2件)</summary>{GIVEN_AT_BROWSER}")
    assert "前提で届いたメール" in given and "前提で届いたメール" not in story
    first_given = f"{given_step['keyword'].strip()} {given_step['text']}"
    assert f"画面写真 (「{html.escape(first_given)}」で)" in given
    story_ids, given_ids = (re.findall(r'<use href="#([^"]+)"', part) for part in (story, given))
    assert len(story_ids) == len(given_ids) == 1 and story_ids == given_ids  # the same screen, once
    assert len(pictures_shown(scenario, page)) == 2 and page.count("<image ") == 2  # (+ outline's)
    assert KEY not in page and ".png" not in scenario  # no file names for captions
    assert "<figcaption>画面写真</figcaption>" in page.split(
        f'id="s-{Path(outline_file).stem}-{outline_run["line"]}"')[1]  # taken outside a step


# In a browser ---------------------------------------------------------------------------


def test_in_chromium_the_failure_is_visible_and_the_filter_works(chromium: Any,
                                                                 tmp_path: Path) -> None:
    report = tmp_path / "features.html"
    report.write_text(render(cucumber(), made_at=MADE_AT, commit="0123abcd"), encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(report.as_uri())
    failed_step = page.locator("li.step.failed").first
    assert failed_step.is_visible() and failing_step_text() in failed_step.inner_text()
    assert page.get_by_text("通知キー照合画面のはずがエラー画面").first.is_visible()
    passed = page.locator("details.scenario.passed ol.steps li").first
    assert not passed.is_visible()  # passed scenarios stay folded
    page.screenshot(path=str(screenshot_path("features-report.png", tmp_path)))
    page.select_option('select[data-filter="status"]', "failed")
    assert page.locator("details.scenario:visible").count() == 1
    assert page.locator("#shown").inner_text() == "1件のシナリオを表示中"
    page.goto("about:blank")
    page.go_back()  # the browser keeps the filter's choice: the page applies it again
    assert page.locator('select[data-filter="status"]').input_value() == "failed"
    assert page.locator("details.scenario:visible").count() == 1
    page.select_option('select[data-filter="status"]', "")
    tagged = {(s["file"], s["line"]) for s in scenarios() if "LG-7" in s["tags"]}
    page.select_option('select[data-filter="tag"]', "LG-7")  # each scenario counted once,
    boxes = page.locator("details.scenario:visible").count()  # though shown under each of
    assert boxes > len(tagged) and page.locator("#shown").inner_text() == (  # its rules
        f"{len(tagged)}件のシナリオを表示中 (複数のルールに載るものを重ねて数えると{boxes}か所)")
    page.select_option('select[data-filter="tag"]', "")
    assert [o.get_attribute("value") for o in page.locator(  # (シナリオなし: no rule is so)
        'select[data-filter="status"] option').all()] == ["", "passed", "failed", "not-run"]
    page.emulate_media(media="print")
    assert passed.is_visible()  # printed, every scenario is unfolded
    page.close()


def test_in_chromium_a_screenshot_opens_whole_on_a_click_and_prints(chromium: Any,
                                                                     tmp_path: Path) -> None:
    """A click shows a screenshot whole, another folds it again (no script); it is painted
    from where the page stores it; a printout has the story's screenshots (it had none),
    unless the reader says not to."""
    report, data, _ = report_with_shots(tmp_path)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(report.as_uri())
    scenario = page.locator(f'#s-{Path(data[0]["uri"]).stem}-{data[0]["elements"][0]["line"]}')
    scenario.locator("summary").first.click()
    story = scenario.locator(".evidence > .shots .picture").first
    given = scenario.locator(".given .picture").first
    small = story.bounding_box()["width"]
    painted = Image.open(io.BytesIO(story.screenshot())).convert("L")
    middle = painted.getpixel((painted.width // 2, painted.height // 2))
    assert isinstance(middle, int) and middle < 160  # the grey PNG, not the page's white
    story.click()
    assert story.bounding_box()["width"] > 2.5 * small
    story.click()
    assert story.bounding_box()["width"] == small
    assert not given.is_visible()  # folded until asked for
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert given.is_visible()  # (as the page opens them before printing)
    assert given.bounding_box()["width"] < 0.7 * small  # the setup's shown smaller
    page.emulate_media(media="print")
    assert story.is_visible() and not given.is_visible()
    assert not page.locator("#print-shots").is_visible()  # (the choice is not printed)
    page.emulate_media(media="screen")
    page.locator("#print-shots").uncheck()
    page.emulate_media(media="print")
    assert not story.is_visible()
    page.close()


def test_in_chromium_a_link_to_a_folded_scenario_opens_it(chromium: Any, tmp_path: Path) -> None:
    """A rule's 「画面とメールは…同じシナリオにあります」 led to a scenario still folded (the
    reader had to find it and click again); opened by its address too, and shown when the
    filter had hidden it."""
    report, data, _ = report_with_shots(tmp_path)
    target = f's-{Path(data[0]["uri"]).stem}-{data[0]["elements"][0]["line"]}'
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{report.as_uri()}#{target}")
    assert page.locator(f"#{target}").get_attribute("open") is not None
    page.evaluate(f"document.getElementById('{target}').open = false")
    page.evaluate(f"location.hash = ''; location.hash = '{target}'")  # (a link within the page)
    page.wait_for_function(f"document.getElementById('{target}').open")
    other_status = "failed" if page.locator(f"#{target}").get_attribute("data-status") != "failed" \
        else "passed"
    page.select_option('select[data-filter="status"]', other_status)  # the filter hides it:
    assert not page.locator(f"#{target}").is_visible()
    page.evaluate(f"location.hash = ''; location.hash = '{target}'")  # the link lifts the filter
    page.wait_for_function(f"document.getElementById('{target}').checkVisibility()")
    assert page.locator('select[data-filter="status"]').input_value() == ""
    assert page.locator("#shown").inner_text() == ""
    assert page.locator("#notice").inner_text() == (  # and says so where the reader is
        "リンク先が絞り込みで隠れていたため、絞り込みを解除しました。")
    assert page.locator("#notice").is_visible()
    page.evaluate(f"document.getElementById('{target}').open = false;"  # the same link again
                  f"document.body.insertAdjacentHTML('beforeend', '<a id=again href=#{target}>x</a>')")
    page.click("#again")
    page.wait_for_function(f"document.getElementById('{target}').open")
    page.close()


def test_in_chromium_the_filter_finds_the_rules_no_scenario_proves(
        chromium: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """状態「シナリオなし」 hid every rule: a rule was shown only for a scenario shown."""
    catalogue = (FEATURES / "rules.toml").read_text(encoding="utf-8")
    (tmp_path / "rules.toml").write_text(catalogue.replace(
        "[rules]\n", '[rules]\n"LG-99" = "まだシナリオのないルール。"\n'), encoding="utf-8")
    monkeypatch.setattr(living_page, "FEATURES", tmp_path)
    report = tmp_path / "features.html"
    report.write_text(render(cucumber(), made_at=MADE_AT, commit="0123abcd"), encoding="utf-8")
    page = chromium.new_page()
    page.goto(report.as_uri())
    page.select_option('select[data-filter="status"]', "none")
    assert page.locator(".rule:visible").all_inner_texts()[0].startswith("LG-99")
    assert page.locator(".rule:visible").count() == 1
    assert page.locator("#shown").inner_text() == "1件のルール (シナリオなし) を表示中"
    page.select_option('select[data-filter="section"]', "CI")  # not in the chosen chapter
    assert page.locator(".rule:visible").count() == 0
    page.close()


def test_in_chromium_on_a_phone_nothing_is_wider_than_the_screen(chromium: Any,
                                                                 tmp_path: Path) -> None:
    """At 390 px the page was 649 px wide (screenshots side by side, test names unbroken), and
    a screenshot opened was no bigger than shut: opened, it is whole, scrolled in its box. The
    chapters' chart keeps its words legible."""
    report, data, _ = report_with_shots(tmp_path)
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.goto(report.as_uri())
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    chart_words = page.evaluate(  # the chapters' chart: its words were drawn at 6 px
        "Math.min(...[...document.querySelectorAll('#summary svg text')]"
        ".map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))")
    assert chart_words >= 10
    assert page.evaluate(  # the summary's counts whole, not a column cut off at the edge
        "(t => t.scrollWidth <= t.clientWidth)(document.querySelector('#summary table'))")
    scenario = page.locator(f'#s-{Path(data[0]["uri"]).stem}-{data[0]["elements"][0]["line"]}')
    story = scenario.locator(".evidence > .shots .picture").first
    story.click()
    assert story.bounding_box()["width"] >= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()


# The collector --------------------------------------------------------------------------
def collected(out: Path, tests: str, chosen: str) -> list[dict[str, Any]]:
    """evidence.jsonl's records of a real run of ``tests`` (-k ``chosen``), the collector
    plugged in, its cucumber JSON in ``out``."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.living_docs",
         tests, "-k", chosen, f"--cucumberjson={out / 'cucumber.json'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return [json.loads(line) for line in (out / "evidence.jsonl").read_text().splitlines()]


def test_the_collector_records_screens_and_masked_key_mails_of_a_real_run(tmp_path: Path) -> None:
    """pytest -p tests.living_docs: a spec's screens and mails land beside its cucumber JSON."""
    out = tmp_path / "reports"
    records = collected(out, "tests/test_features.py", "通知キーは1回のログインにしか使えない")
    kinds = {r["kind"] for r in records}
    assert kinds == {"answer", "mail"}  # (the services' answers: a browser's pages are "screen")
    assert {r["test"] for r in records} == {"test_通知キーは1回のログインにしか使えない"}
    mail = next(r["text"] for r in records if r["kind"] == "mail")
    assert "通知キー: ************" in mail and not re.search(r"\d{12}", mail)
    assert mail.startswith("差出人: ビリングステーション <bs-co@billingstation.ntt.com>\n宛先: ")
    main(str(out / "cucumber.json"), str(out / "features.html"))
    page = (out / "features.html").read_text(encoding="utf-8")
    # the mail is shown after the step that sent it (the login), the key masked
    assert ("<figcaption>メール (「もし &quot;main01&quot; がパスワードを入力して「ログイン」を"
            "クリックする」の後、2015/01/16 09:58:00)</figcaption>") in page  # (the model's time)
    assert "この通知キーは使用できません。" in page


def test_the_collector_records_d14s_wait_screen(tmp_path: Path) -> None:
    """D-14's refusal is the login screen saying to wait: the report showed no screen there."""
    records = collected(tmp_path / "reports", "tests/test_features.py", "接続元から10分間に")
    waits = [r["line"] for r in records if r["kind"] == "answer" and r["text"] == (
        "【ログイン】\nしばらく時間をおいてから再度ログインしてください。")]
    lines = (FEATURES / "decisions.feature").read_text(encoding="utf-8").splitlines()
    scenario = next(n for n, line in enumerate(lines) if "接続元から10分間に" in line)
    end = next(n for n in range(scenario + 1, len(lines)) if "シナリオ" in lines[n])
    logins = [n for n in range(scenario + 1, end)  # (the logins the next line says refused)
              if "しばらく時間をおいてから" in lines[n]]
    assert len(logins) == 2 and waits == logins  # (refused again 9 min 59 s later: the
    #   same screen, shown too)


def test_the_collector_records_a_step_s_answer_the_same_as_the_one_before(
        tmp_path: Path) -> None:
    """【完了】 is one object however often it is shown: a change's own 【完了】 after
    another's was left out, the step seemingly showing nothing."""
    records = collected(tmp_path / "reports", "tests/test_features.py",
                        "副IDが通知キーでログインする")
    step = next(n for n, line in enumerate((FEATURES / "sub_ids.feature").read_text(
        encoding="utf-8").splitlines(), 1) if '"通知キーの利用" を "利用する" に変更する' in line)
    changed = [r for r in records if r["line"] == step]
    assert [r["text"] for r in changed] == ["【完了】\nログインユーザ情報変更を完了しました。"]


def test_the_collector_records_the_audits_answers(tmp_path: Path) -> None:
    """D-16's audit is a command, not a screen: its scenario showed only its setup's."""
    records = collected(tmp_path / "reports", "tests/test_features.py", "監査はストアを読むだけ")
    answers = [r["text"] for r in records if r["text"].startswith("【監査 (verify) の出力】")]
    assert len(answers) == 4 and answers[0].startswith("【監査 (verify) の出力】 終了コード 0\n")
    after_setup = records[records.index(next(r for r in records if r["text"] == answers[0])):]
    assert [r["text"] for r in after_setup] == answers  # (each once, at the step that ran it:
    #   the step after one showed the setup's last screen, 【完了】, as if the audit had)
    assert answers[0].rstrip().endswith("verified: no violations")
    assert all(a.startswith("【監査 (verify) の出力】 終了コード 65\nerror: other-") for a in answers[1:])


def test_a_browser_scenario_shows_only_the_mails_of_its_own_steps(tmp_path: Path) -> None:
    """The portal's mailbox is the whole session's: a scenario after one that mailed a key
    (SC-2's) showed that mail as its own, under a login with the key off (SC-4)."""
    records = collected(tmp_path / "reports", "tests/test_portal_features.py",
                        "トップページに前回ログイン or ログアウトすると")
    mailed = {r["test"] for r in records if r["kind"] == "mail"}
    assert len({r["test"] for r in records}) == 2 and len(mailed) == 1  # SC-2's, not SC-4's
    assert "トップページに前回ログイン" in mailed.pop()

def test_a_step_whose_words_repeat_in_its_scenario_is_captioned_with_its_line() -> None:
    """D-10's scenario logs in with the same words twice: one caption stood for two screens."""
    assert step_names({50: "もし ログインする", 52: "かつ 待つ", 56: "もし ログインする"}) == {
        50: "「もし ログインする」(50行目)", 52: "「かつ 待つ」", 56: "「もし ログインする」(56行目)"}


def test_a_screenshot_in_the_report_is_kept_whole_and_small() -> None:
    """A screenshot from the portal's 1280-pixel window is kept pixel for pixel (it is read
    when opened), a larger one shrunk to that width; both stored as WebP."""
    pictures = Pictures()
    shown = pictures.show(png(1280, 720), "画面写真") + pictures.show(png(2400, 1600), "大")
    images = pictures_shown(shown, pictures.stored())
    assert [(i.format, i.size) for i in images] == [("WEBP", (1280, 720)), ("WEBP", (1280, 853))]
    varied = Image.effect_noise((1280, 720), 80).convert("RGB")  # thousands of colours
    out = io.BytesIO()
    varied.save(out, format="PNG")
    [kept] = pictures_shown(pictures.show(out.getvalue(), "色"), pictures.stored())
    colours = kept.convert("RGB").getcolors(256)  # (None: more than 256, as lossy makes)
    assert colours is not None and len(colours) <= 64  # the palette, kept exactly
    assert 'aria-label="画面写真" width="1280" height="720"' in shown


def test_a_screenshot_shown_again_is_stored_once() -> None:
    """The same screen recurs across scenarios and steps: the page stores its bytes once,
    whatever the caption."""
    pictures = Pictures()
    login, top = png(1280, 720), png(1280, 900)
    shown = [pictures.show(login, "前提で"), pictures.show(top, "ならばで"),
             pictures.show(login, "別のシナリオで")]
    stored = pictures.stored()
    assert stored.count("<image ") == 2 and stored.count("base64,") == 2
    assert [p.size for p in pictures_shown("".join(shown), stored)] == [
        (1280, 720), (1280, 900), (1280, 720)]
    assert 'aria-label="別のシナリオで"' in shown[2]
    assert shown[0].split("<use")[1] == shown[2].split("<use")[1]  # the same stored picture


def test_a_scenario_s_description_and_its_given_steps_as_the_page_reads_them() -> None:
    """The text under a scenario's name is shown (D-16 says why it has no screen); the 前提
    steps, and each かつ after one, are what the story starts from."""
    page = render(cucumber(fail=False), made_at=MADE_AT, commit="0123abcd")
    assert '<p class="description">監査は画面で行う操作ではなく' in page
    written = next(s for s in scenarios()
                   if [st["keyword"].strip() for st in s["steps"][:2]] == ["前提", "かつ"])
    lines = [st["location"]["line"] for st in written["steps"]]
    kinds = [st["keywordType"] for st in written["steps"]]
    story = next(i for i, kind in enumerate(kinds) if kind not in ("Context", "Conjunction"))
    assert given_lines(written) == set(lines[:story])


def test_a_failed_check_says_what_was_expected_and_what_was_shown() -> None:
    """The analyst's probe: a changed message's failure read as pytest's ``assert '…' ==
    '…'`` with bare -/+ lines. A step's own check says 期待した… and 実際の…, and the page's
    message is those lines (pytest's comparison stays in the full traceback)."""
    with pytest.raises(AssertionError) as failed:
        says("他の操作で内容が変更されました。", "この通知キーは使用できません。")
    traceback = str(failed.getrepr())  # (as pytest-bdd's report carries it)
    assert "E       AssertionError: 期待した文言" in traceback
    assert error_summary(traceback) == ("期待した文言: この通知キーは使用できません。\n"
                                        "実際の文言: 他の操作で内容が変更されました。")
