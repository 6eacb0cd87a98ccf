"""What a scenario's runs showed: screens, mails and screenshots, each after its step, those
of the 前提 steps folded apart."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from simulations.html import esc
from tests.docs_shots import shot_line
from tests.living_docs.context import Context
from tests.living_docs.inputs import Evidence, Run, mask_keys, screenshots_of

T = TypeVar("T")
KIND = {"screen": "画面の文字", "answer": "画面の要点 (アプリケーションが返した題名とメッセージ)",
        "audit": "コマンドの出力", "mail": "メール"}


def evidence_of(ctx: Context, s: dict[str, Any], runs: list[Run]) -> str:
    """What each run showed: the screens, mails and screenshots of its story, each after its
    step; those of the 前提 steps (what it starts from) folded apart."""
    parts, shown, given = [], set(), given_lines(s)
    for run in runs:
        items = [*ctx.evidence.get(run.test_id, []),
                 *(e for st in run.steps for e in st.evidence)]
        shots = [p for p in screenshots_of(run, s["name"], ctx.screenshots) if p not in shown]
        shown.update(shots)
        if items or shots:
            title = f"画面とメール: {run.row}" if run.row else "画面とメール"
            steps = step_names({st["location"]["line"]: f"{st['keyword'].strip()} {st['text']}"
                                 for st in s["steps"]} | {st.line: f"{st.keyword.strip()} {st.text}"
                                                          for st in run.steps})
            items.sort(key=lambda e: e.line)
            later, first = _split(items, lambda e: e.line in given)
            later_shots, first_shots = _split(shots, lambda p: shot_line(p) in given)
            story = _seen(ctx, later, later_shots, steps)
            setup = _seen(ctx, first, first_shots, steps)
            planted = GIVEN_AT_BROWSER if first_shots else ""
            parts.append(f'<div class="evidence"><h4>{esc(title)}</h4>{story}'
                         + (f'<details class="given"><summary>前提の画面とメール '
                            f"({len(first) + len(first_shots)}件)</summary>{planted}{setup}"
                            "</details>" if setup else "") + "</div>")
    return "".join(parts)


# (tests/spec_drivers.py: a 前提 at the browser is set up, not lived through)
GIVEN_AT_BROWSER = ("<p><small>前提はテストが用意した、シナリオの始まりの状態です。"
                    "主IDの画面から始まる前提は、ログインを記録しないテスト用のセッションで開いて"
                    "います (実際のポータルでは、セッションはログインでしか始まりません)。</small></p>")


def _split(things: list[T], given: Callable[[T], bool]) -> tuple[list[T], list[T]]:
    """(those of the story, those of its 前提), each in its order."""
    return [t for t in things if not given(t)], [t for t in things if given(t)]


def given_lines(s: dict[str, Any]) -> set[int]:
    """The lines of a scenario's 前提 steps (and the かつ after them): where its story starts."""
    lines, given = set(), False
    for step in s["steps"]:
        if step.get("keywordType") != "Conjunction":
            given = step.get("keywordType") == "Context"
        if given:
            lines.add(step["location"]["line"])
    return lines


def step_names(steps: dict[int, str]) -> dict[int, str]:
    """Each step as a caption names it, 「かつ …」; one whose words another step of the
    scenario repeats, with its line too: 「かつ …」(52行目)."""
    repeated = Counter(steps.values())
    return {line: f"「{text}」" + (f"({line}行目)" if repeated[text] > 1 else "")
            for line, text in steps.items()}


def _seen(ctx: Context, items: list[Evidence], shots: list[Path], steps: dict[int, str]) -> str:
    """Screen texts and mails, then the screenshots in the order taken, each captioned with
    its step."""
    return ("".join(_evidence_item(ctx, e, steps.get(e.line, "")) for e in items)
            + ('<div class="shots">' + "".join(
                _screenshots(ctx, list(group), steps)
                for _, group in itertools.groupby(shots, key=shot_line)) + "</div>"
               if shots else ""))


MANY = 3  # a step's screenshots beyond which its first and last are shown, the rest folded


def _screenshots(ctx: Context, shots: list[Path], steps: dict[int, str]) -> str:
    """One step's screenshots; of a step that took many (20 failed logins), the first and
    the last, the others folded between them."""
    if len(shots) <= MANY:
        return "".join(_screenshot(ctx, p, steps, i, len(shots)) for i, p in enumerate(shots, 1))
    first, *middle, last = shots
    return (_screenshot(ctx, first, steps, 1, len(shots))
            + f'<details class="more-shots"><summary>同じ手順の画面写真 ほか{len(middle)}枚'
              "</summary>" + "".join(_screenshot(ctx, p, steps, i, len(shots))
                                     for i, p in enumerate(middle, 2)) + "</details>"
            + _screenshot(ctx, last, steps, len(shots), len(shots)))


def _evidence_item(ctx: Context, e: Evidence, step: str) -> str:
    """A screen or mail, captioned with the step after which it was seen."""
    after = f" ({step}の後{f'、{e.at}' if e.at else ''})" if step else (
        f" ({e.at})" if e.at else "")
    if e.png:
        return (f"<figure>{ctx.pictures.show(e.png, f'画像{after}')}"
                f"<figcaption>画像{esc(after)}</figcaption></figure>")
    return (f'<figure class="{esc(e.kind)}"><figcaption>{esc(KIND.get(e.kind, "出力"))}'
            f"{esc(after)}</figcaption><pre>{esc(mask_keys(e.text))}</pre></figure>")


def _screenshot(ctx: Context, path: Path, steps: dict[int, str], nth: int = 1,
                of: int = 1) -> str:
    """A screenshot, shrunk to fit beside others, numbered among its step's (2/20); a click
    (a checkbox, no script) shows it whole."""
    step = steps.get(shot_line(path), "")
    caption = "画面写真" + (f" {nth}/{of}" if of > 1 else "") + (f" ({step}で)" if step else "")
    zoom = f"zoom-{next(ctx.zooms)}"
    return (f'<figure><input type="checkbox" class="zoom" id="{zoom}">'
            f'<label for="{zoom}" title="クリックで拡大・縮小">'
            f"{ctx.pictures.show(path.read_bytes(), caption)}"
            f"</label><figcaption>{esc(caption)}</figcaption></figure>")
