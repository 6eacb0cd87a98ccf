"""The manual's field tables (domain.forms) as a page shows them: label, the manual's hint,
※ for a required field, the kept input, and the field's own errors (CI-4)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import attrs

from domain.fields import ChoiceField, Field, FieldError, Kind, TextField

REQUIRED_CHOICES = frozenset({"organization"})  # 所属組織 carries the manual's ※ (SB-5)
CHOICE_HINTS = {"organization": "組織設定メニューで登録された組織が選択可能です。"
                                "選択された組織内の明細情報の更新と参照が可能となります。"}  # SB-5
# Beside a password typed before the form came back (「戻る」 from 確認, an OK refused): a
# password is never sent back to the page
RETYPE = "入力された値は表示されません。もう一度入力してください。"


@attrs.frozen
class FieldView:
    name: str
    label: str
    hint: str
    required: bool
    choices: tuple[str, ...]  # radio buttons; empty for a text input
    value: str
    errors: tuple[str, ...]
    secret: bool
    note: str = ""  # RETYPE beside a password typed before the form came back

    @property
    def input_type(self) -> str:
        return "password" if self.secret else "text"


def hint(field: TextField) -> str:
    """The manual's hint under a label, e.g. (全角20文字以内で入力)."""
    if field.kind is Kind.ANY:
        return f"({field.max_len}文字以内で入力)"
    return f"({field.constraint}で入力)"


def views(fields: Mapping[str, Field], values: Mapping[str, str],
          errors: Iterable[FieldError] = (), retype: Collection[str] = ()) -> list[FieldView]:
    """One view per field; each error lands on the field whose label it names; ``retype``
    names the passwords typed before the form came back, which the page asks for again."""
    by_label: dict[str, list[str]] = {}
    for e in errors:
        by_label.setdefault(e.label, []).append(e.message)
    shown = []
    for name, field in fields.items():
        if isinstance(field, ChoiceField):
            value = values.get(name) or field.default
            shown.append(FieldView(name, field.label, CHOICE_HINTS.get(name, ""),
                                   name in REQUIRED_CHOICES, field.choices, value,
                                   tuple(by_label.get(field.label, ())), False))
        else:
            shown.append(FieldView(
                name, field.label, hint(field), field.required, (),
                "" if field.secret else values.get(name, ""),
                tuple(by_label.get(field.label, ())), field.secret,
                RETYPE if field.secret and name in retype else ""))
    return shown


def unplaced(fields: Mapping[str, Field], errors: Iterable[FieldError]) -> list[str]:
    """Errors naming no field of the page (e.g. a field the plan does not show, SB-6)."""
    labels = {f.label for f in fields.values()}
    return [e.message for e in errors if e.label not in labels]
