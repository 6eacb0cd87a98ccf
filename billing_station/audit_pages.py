"""The audit's findings and the login history as self-contained HTML pages an auditor can
hand on: Japanese labels, times in JST, filters that work offline (a little inline script;
without it every row is simply shown), and nothing fetched from anywhere."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from application.audit import LoginRecord, Violation
from application.audit.attempt_book import OutOfOrder
from application.audit.evidence import NOTES_JA, printable
from application.audit.policies import (
    POLICIES,
    AddressPolicy,
    KeyPolicy,
    address_policy_of,
    as_recorded,
    key_policy_of,
    worded,
)
from application.audit.verify import OUT_OF_ORDER, d14_unjudged
from application.japan_time import jst, span
from billing_station.audit_words import (
    CHECKED_RULES,
    COUNTS,
    D14_UNJUDGED_JA,
    FINDINGS,
    KINDS,
    OUTCOMES,
    UNCHECKED_RULES,
)
from domain.policy import LoginPolicy
from simulations.html import page

AUDIT_TITLE = "監査結果"


def is_findings_page(start: bytes) -> bool:
    """Whether a file's first bytes are those of a page findings_page wrote (its title is
    there from its first version on): the only file verify --html writes over."""
    return f"<title>{AUDIT_TITLE}</title>".encode() in start

STYLE = """
.verdict{font-size:1.2em;padding:.6em 1em;border-radius:6px;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #34a853} .bad{background:#fdecea;border:1px solid #d93025}
table{font-size:.85em;width:100%}
.filters{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:end}
.filters label{display:flex;flex-direction:column;font-size:.85em;max-width:100%}
.filters select{max-width:18em}
.history td{white-space:nowrap}  /* 主ID, 初回, ログイン完了 whole */
.history td.key-policy{white-space:normal;min-width:14em}  /* its words wrap, not a word a line */
.history th{min-width:3.5em}  /* a heading of a narrow column: a few characters a line */
.wide{overflow-x:auto}  /* past the page's width, the table scrolls, not its columns squeezed */
.finding{border:1px solid #d93025;border-radius:6px;margin:.8em 0;padding:.5em 1em}
.finding h3{margin:.2em 0;font-size:1em} pre{font-size:.8em;margin:.3em 0}
@media print{.filters{display:none}}
"""

SCRIPT = """
function filterRows(){
  const id=document.getElementById('f-id').value.trim(), o=document.getElementById('f-o').value,
    from=document.getElementById('f-from').value, to=document.getElementById('f-to').value,
    ip=(document.getElementById('f-ip')||{value:''}).value.trim();  // (the history's only)
  let shown=0;
  for(const r of document.querySelectorAll('[data-at]')){
    const ok=(!id||r.dataset.id.split(' ').includes(id))&&(!o||r.dataset.o===o)
      &&(!from||!r.dataset.at||r.dataset.at>=from)&&(!to||!r.dataset.at||r.dataset.at<to)
      &&(!ip||r.dataset.ip===ip);  // (no time: a finding of the whole store, in any period)
    r.hidden=!ok; shown+=ok;
  }
  const backwards=Boolean(from&&to&&to<=from);  // (an empty period: said, not just 0 件)
  document.getElementById('shown').textContent=shown.toLocaleString('ja-JP');
  document.getElementById('none').hidden=shown>0||backwards;
  document.getElementById('backwards').hidden=!backwards;
}
for(const e of document.querySelectorAll('.filters input,.filters select'))
  e.addEventListener('input',filterRows);
"""


def _page(title: str, body: str) -> str:
    """The simulations' page, with the filters' style and script."""
    return page(title, body, style=STYLE, script=SCRIPT) + "\n"


def _filters(choices: dict[str, str], choice_label: str, by_address: bool = False) -> str:
    options = "".join(f'<option value="{html.escape(k)}">{html.escape(v)}</option>'
                      for k, v in choices.items())
    address = ('<label>接続元IPアドレス (完全一致)<input id="f-ip" type="search"></label>'
               if by_address else "")
    return ('<div class="filters"><label>ログインID (完全一致)<input id="f-id" type="search">'
            f'</label>{address}'
            f'<label>{choice_label}<select id="f-o"><option value="">すべて</option>{options}'
            '</select></label><label>期間の始め (JST)<input id="f-from" type="datetime-local">'
            '</label><label>期間の終わり (JST, 含まない)<input id="f-to" type="datetime-local">'
            '</label><span>表示中: <b id="shown">{shown}</b> 件</span></div>'
            '<p id="none" hidden>条件に合うものはありません。</p>'
            '<p id="backwards" hidden role="alert">期間の終わりは始めより後にしてください。</p>')


def _made() -> str:
    return f"{jst(datetime.now(UTC), seconds=True)} (日本時間)"


def _period(since: datetime | None, until: datetime | None) -> str:
    if since is None and until is None:
        return "全期間"
    return (f"{jst(since, seconds=True) if since else '最初'} から "
            f"{jst(until, seconds=True) if until else '最後'} まで (終わりを含まない)")


UNKNOWN_IDS = ("<p class='meta'>登録のないログインIDは、入力されたとおりには記録されていません"
               "（パスワードを誤って入力したものかもしれないため）。「?」で始まる印で記録され、"
               "同じ入力は同じ印になります。このページのログインIDの絞り込みでは印で探してください。"
               "入力されたIDで探すには <code>history --login-id ID</code> を使います。</p>")


def history_page(records: list[LoginRecord], since: datetime | None,
                 until: datetime | None, client: str | None = None,
                 login_id: str | None = None) -> str:
    """`history --format html`: one row per login attempt, filterable."""
    rows = "".join(
        f'<tr data-at="{r.requested_at[:16]}" data-id="{html.escape(r.login_id)}" '
        f'data-o="{r.outcome}" data-ip="{html.escape(r.client_address)}">'
        f"<td>{_shown_time(r.requested_at)}</td>"
        f"<td>{html.escape(r.login_id)}</td><td>{KINDS.get(r.kind, r.kind)}</td>"
        f"<td>{OUTCOMES.get(r.outcome, r.outcome)}</td><td>{'あり' if r.with_key else '-'}</td>"
        f"<td>{'要' if r.key_required else '-'}</td><td>{'初回' if r.first_login else '-'}</td>"
        f"<td>{r.keys_issued}</td><td>{r.wrong_entries}</td><td>{r.seconds_to_end:,}</td>"
        f"<td>{html.escape(r.client_address) or '-'}</td>"
        f"<td class=\"key-policy\">"
        f"{_key_terms_ja(key_policy_of(r.key_policy)) if r.key_policy else '-'}</td>"
        f"<td>{_address_terms_ja(address_policy_of(r.address_policy)) if r.address_policy else '-'}"
        f"</td><td><code>{r.attempt_id}</code></td></tr>" for r in records)
    tally = Counter(r.outcome for r in records)
    summary = "、".join(f"{OUTCOMES.get(o, o)} {n:,}" for o, n in tally.most_common())
    head = ("<tr><th>ログイン日時 (JST)</th><th>ログインID</th><th>種別</th><th>結果</th>"
            "<th>通知キー使用</th><th>キー要否</th><th>初回</th><th>発行キー数</th>"
            "<th>誤入力</th><th>終了までの秒数</th><th>接続元IPアドレス</th><th>キーのポリシー</th>"
            "<th>接続元のポリシー (D-14)</th><th>試行ID</th></tr>")
    only = (f" / 接続元IPアドレス: {html.escape(client)}" if client else "") + (
        f" / ログインID: {html.escape(printable(login_id))}" if login_id is not None else "")
    body = (f"<h1>ログイン履歴</h1><p class='meta'>期間: {_period(since, until)}{only} / 作成: "
            f"{_made()}</p><p>ログイン試行 {len(records):,} 件: {summary or 'なし'}</p>"
            + _filters(OUTCOMES, "結果", by_address=True).replace("{shown}", f"{len(records):,}")
            + f'<div class="wide"><table class="history"><thead>{head}</thead><tbody>{rows}'
            '</tbody></table></div>'
            + (UNKNOWN_IDS if any(r.kind == "unknown" for r in records) else ""))
    return _page("ログイン履歴", body)


def _shown_time(iso: str) -> str:
    """2015-01-16T10:00:00+09:00 as the screens show times: 2015/01/16 10:00:00."""
    return iso[:19].replace("-", "/").replace("T", " ")


def _login_ids(violation: Violation) -> list[str]:
    """The login IDs a finding concerns, as its evidence and message name them: the
    attempt's, the one who changed and the main ID who may (the filter matches them whole)."""
    text = "\n".join([violation.message, *violation.evidence])
    found = re.findall(r"\blogin_id=(\S+)|\bby=(\S+)|by the main ID (\S+)", text)
    return list(dict.fromkeys(name for names in found for name in names if name))


def findings_page(violations: Iterable[Violation], counts: Counter[str], where: str,
                  stores: Sequence[str] | None = None,
                  out_of_order: OutOfOrder | None = None, scope: str = "ストア全体",
                  out_of_order_in: str | None = None,
                  unreadable: Sequence[tuple[str, str]] = ()) -> str:
    """`verify --html`: the verdict, what was checked, and each finding with its evidence
    (and, from several stores, the store each is in: ``stores``, one per violation); events
    stamped out of order (``out_of_order``: the first, of one store) qualify the verdict;
    ``scope``: what was read (the whole store, or what came after a checkpoint);
    ``unreadable``: the stores that could not be read whole, and why (verify's error line):
    then there is no verdict, only what was found up to there."""
    found = list(violations)
    in_store = [f"ストア {html.escape(s)}: " for s in stores] if stores else [""] * len(found)
    by_rule = Counter(v.rule for v in found)
    verdict = (f'<div class="verdict bad">違反 {len(found):,} 件: ' + "、".join(
        f"{rule} × {n}" for rule, n in sorted(by_rule.items())) + "</div>") if found else (
        '<div class="verdict ok">違反なし: すべてのログインと変更が、下の検査したルールについて'
        "その時点のポリシーに従っていました。</div>")
    if unreadable:  # (no verdict can be given: the page says so, not an earlier run's)
        verdict = _unreadable_ja(unreadable, len(found))
    if counts[OUT_OF_ORDER]:  # (the verdict's time-based part is unsure: said beside it)
        verdict += _out_of_order_ja(out_of_order, out_of_order_in)
    checked = "".join(f"<tr><th>{COUNTS.get(k, html.escape(k))}</th><td>{n:,}</td></tr>"
                      for k, n in counts.items() if not k.startswith(POLICIES))
    items = "".join(
        f'<div class="finding" data-at="{_evidence_time(v)}" '
        f'data-id="{html.escape(" ".join(_login_ids(v)))}" data-o="{v.rule}">'
        f"<h3>{v.rule}: {FINDINGS.get(v.rule, '')}</h3><p class='meta'>{store}"
        f"{html.escape(v.shown)}</p><p>証拠となるイベント:</p><pre>"
        + html.escape("\n".join(map(_notes_ja, v.evidence))) + "</pre></div>"
        for v, store in zip(found, in_store, strict=True))
    unjudged = (f"<p class='note'>{D14_UNJUDGED_JA}</p>"
                if d14_unjudged(counts) else "")
    body = (f"<h1>監査結果</h1><p class='meta'>ストア: {html.escape(where)} / 作成: "
            f"{_made()}<br>検査の範囲: {html.escape(scope)}</p>{verdict}<h2>検査したもの</h2>"
            f"{_listed(CHECKED_RULES)}{unjudged}"
            f"<table>{checked}</table>{_policies_ja(counts)}"
            "<h2>イベントからは検査できないもの</h2>"
            f"{_listed(UNCHECKED_RULES)}"
            "<h2>違反と証拠</h2>"
            + (_filters({r: r for r in sorted(by_rule)}, "ルール").replace(
                "{shown}", f"{len(found):,}") + items if found else "<p>なし</p>"))
    return _page(AUDIT_TITLE, body)


def _unreadable_ja(unreadable: Sequence[tuple[str, str]], found: int) -> str:
    """The verdict's place when a store could not be verified to its end (unreadable, not a
    store, unavailable, or its checkpoint not this store's): which, why, and that what the
    page shows is what was read up to there."""
    reasons = html.escape("\n".join(f"{where}: {why}" for where, why in unreadable))
    return ('<div class="verdict bad">判定なし: 検査を最後まで終えられなかったストアがあります。'
            f"下は読めたところまでの結果です (違反 {found:,} 件)。</div>"
            f"<p>終えられなかったストアと理由 (verify の出力のまま):</p><pre>{reasons}</pre>")


def _listed(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _out_of_order_ja(first: OutOfOrder | None, store: str | None = None) -> str:
    """What events stamped out of order mean for the verdict, as the terminal's note says."""
    ahead = ("同じ試行" if first and first.ahead_of == first.attempt_id
             else f"試行 {first.ahead_of} " if first else "")
    where = (f"最初は{f'{store} の' if store else ''}試行 {first.attempt_id} のイベントで、"
             f"{jst(first.at, seconds=True)} "
             f"(日本時間) の時刻ですが、先に記録された{ahead}のイベントは "
             f"{jst(first.ahead_at, seconds=True)} の時刻です (どちらかが誤り)。"
             if first else "")
    return ("<p class='note'>注意: 先に記録されたイベントより1分以上前の時刻を持つログイン試行の"
            f"イベントがあります。{html.escape(where)}記録した側の時計がずれていたか、イベントが"
            "変更されています。イベントの間の時間で決まる判定 (放棄、未完了、期限切れ、D-10 と "
            "D-14 の時間枠) は誤っているかもしれません。</p>")



def _policies_ja(counts: Counter[str]) -> str:
    """The policies the events record (each key's event, each password check's), in force
    for how many: a policy loosened in an event shows here, where the rules trust it."""
    rows = worded(counts, _key_policy_ja, _address_policy_ja)
    return ("<h2>イベントが記録しているポリシー</h2><table>" + "".join(rows) + "</table>"
            if rows else "")


def _key_policy_ja(policy: KeyPolicy) -> str:
    return (f"<tr><th>通知キー: {_key_terms_ja(policy)}</th>"
            f"<td>{policy.issued:,}通</td></tr>")


def _key_terms_ja(policy: KeyPolicy) -> str:
    limit = (f"{span(policy.window_seconds)}間に{policy.keys:,}通まで"
             if policy.window_seconds else "D-10の上限は記録なし")
    return f"有効{span(policy.valid_seconds)}、誤入力{policy.wrong_entries:,}回でロック、{limit}"


def expected_ja(expected: LoginPolicy) -> str:
    """The policy verify --expect-policy holds the events' to, as the page's scope says it."""
    keys, addresses = as_recorded(expected)
    return f"{_key_terms_ja(keys)}、D-14 は{_address_terms_ja(addresses)}"


def _address_policy_ja(policy: AddressPolicy) -> str:
    return (f"<tr><th>接続元 (D-14): {_address_terms_ja(policy)}</th>"
            f"<td>パスワード照合 {policy.checked:,}回</td></tr>")


def _address_terms_ja(policy: AddressPolicy) -> str:
    return f"{span(policy.window_seconds)}間に{policy.failures:,}回の失敗で拒否"


def _notes_ja(line: str) -> str:
    """An evidence line with verify's note on it (if any) said in Japanese."""
    for english, japanese in NOTES_JA.items():
        if line.endswith(english):
            return line.removesuffix(english) + japanese
    return line


def _evidence_time(violation: Violation) -> str:
    """The first evidence event's JST time as datetime-local compares it (2015-01-16T10:00);
    none for a finding of the whole store (--expect-policy's), which any period shows."""
    first = violation.evidence[0] if violation.evidence else ""
    return first[:16].replace("/", "-").replace(" ", "T") if re.match(
        r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}", first) else ""
