"""標準メニュー (SC-1), as the manual shows it. Items this system does not model lead to a
page that says so; a sub ID sees neither 権限設定 nor お客様情報変更 (CI-1, SB-2)."""

from __future__ import annotations

import functools

import attrs

from application.outcomes import Session


@attrs.frozen
class Item:
    label: str
    url: str
    main_id_only: bool = False


@attrs.frozen
class Group:
    label: str
    items: tuple[Item, ...]


def not_modelled(slug: str) -> str:
    return f"/not-modelled/{slug}"


MENU = (
    Group("請求・内訳の確認", (Item("請求・内訳の確認", not_modelled("billing")),)),
    Group("ダイヤル通話履歴の参照", (Item("ダイヤル通話履歴の参照", not_modelled("calls")),)),
    Group("その他レポートの参照", (Item("その他レポートの参照", not_modelled("reports")),)),
    Group("ダウンロード", (Item("ダウンロード", not_modelled("download")),)),
    Group("各種設定", (Item("権限設定", "/permission-settings", main_id_only=True),)),
    Group("お客様情報確認・変更", (
        Item("パスワード変更", not_modelled("password")),
        Item("お客様情報変更", "/customer-information", main_id_only=True),
        Item("ドコモ明細登録・変更", not_modelled("docomo")),
        Item("ご登録情報照会", not_modelled("registration")),
    )),
)

# The unmodelled items by slug: the page names the item and says plainly it is not modelled.
NOT_MODELLED = {i.url.rsplit("/", 1)[1]: i.label for g in MENU for i in g.items
                if i.url.startswith("/not-modelled/")}


TOP = "/top"  # (the menu's last link, トップページ)


def menu_for(session: Session) -> tuple[Group, ...]:
    """The menu a login ID sees: the main ID's items only for a main ID."""
    return _menu(session.is_main_id)


@functools.cache
def _menu(is_main_id: bool) -> tuple[Group, ...]:
    return tuple(
        Group(g.label, shown) for g in MENU
        if (shown := tuple(i for i in g.items if is_main_id or not i.main_id_only))
    )


def current(path: str, menu: tuple[Group, ...]) -> str | None:
    """The URL of the menu's link to the page at ``path`` or a page beneath it (marked
    aria-current), if it has one."""
    return next((url for url in (*(i.url for g in menu for i in g.items), TOP)
                 if path == url or path.startswith(url + "/")), None)
