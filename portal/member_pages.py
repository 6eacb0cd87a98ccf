"""トップページ (SC-2: the LG-7 header, ご利用プラン, お知らせ) and the 標準メニュー items this
system does not model (SC-1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application.outcomes import Session, TopPage
from domain.forms import Plan
from portal.menu import NOT_MODELLED
from portal.web import members_only, render

# ご利用プラン (SC-2): the plan's name and contents, as the manual's top page lists them.
PLANS = {
    Plan.STANDARD.value: ("スタンダードプラン",
                          "照会可能期間 (請求内訳) 標準 / 照会可能期間 (通話履歴) 標準"),
    Plan.DOWNLOAD.value: ("データダウンロード", "3ヵ月"),
}

# お知らせ (SC-2): the manual's sample notices, newest first. This system models the login,
# not the news: its first table's dated rows, as the manual words them (its fourth row's
# 「201X/04/01」 has no year to sort by, and its second table reads as garbled by the scan:
# 「事務追加登録に精通が発生しました」; both left out).
NOTICES = sorted([
    ("2016/07/10", "新機能追加のお知らせ"),
    ("2016/07/01", "連絡先メールアドレス更新のお知らせ"),
    ("2016/07/01", "リニューアル後の確認事項のお知らせ"),
], reverse=True)


@members_only
async def top_page(request: Request, session: Session, top: TopPage) -> Response:
    plan = request.state.member.plan  # read with the session's account (portal.web.member)
    return render(request, "top.html", {"plan": PLANS[plan], "notices": NOTICES},
                  session=session, top=top)


@members_only
async def not_modelled(request: Request, session: Session, top: TopPage) -> Response:
    """SC-1: the item is in the menu, and its page says plainly that it is not modelled."""
    item = NOT_MODELLED.get(request.path_params["item"])
    if item is None:
        return render(request, "error.html", {"message": "ページが見つかりません。"},
                      status_code=404, session=session, top=top)
    return render(request, "not_modelled.html", {"item": item}, session=session, top=top)


ROUTES = [
    Route("/top", top_page),
    Route("/not-modelled/{item}", not_modelled),
]
