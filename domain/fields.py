"""Form fields as the manual labels them (CI-2, SB-5, SB-7), and their checks.

A field error names the field by its manual label and the rule it breaks, so that a
person and an auditor read the same thing.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping

import attrs


@attrs.frozen
class FieldError:
    """One broken rule of one field, worded for the screen."""

    label: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.label} / {self.rule}]"


class InvalidInput(ValueError):
    """Raised with every field error at once (CI-4); nothing has been recorded."""

    def __init__(self, errors: list[FieldError], form: Mapping[str, str] | None = None):
        self.errors = errors
        self.form = dict(form or {})  # the input, kept for the screen (CI-4)
        super().__init__("\n".join(str(e) for e in errors))


class Kind(enum.Enum):
    """The character classes the manual asks for, with its own wording."""

    FULL_WIDTH = "全角"
    KATAKANA = "カタカナ"
    HALF_WIDTH = "半角"
    DIGITS = "半角数字"
    ALPHANUMERIC = "半角英数"
    ANY = ""


_KATAKANA = re.compile(r"[\u30a1-\u30f6\u30fc\u30fb\u3000]*")  # ァ-ヶ, ー, ・, full-width space
_ALPHANUMERIC = re.compile(r"[0-9A-Za-z]*")
_HALF_WIDTH = re.compile(r"[ -~]*")  # printable ASCII: a space to a tilde


def _is_kind(value: str, kind: Kind) -> bool:
    if kind is Kind.FULL_WIDTH:
        return all(unicodedata.east_asian_width(c) in ("F", "W") for c in value)
    if kind is Kind.KATAKANA:
        return _KATAKANA.fullmatch(value) is not None
    if kind is Kind.HALF_WIDTH:
        return _HALF_WIDTH.fullmatch(value) is not None
    if kind is Kind.DIGITS:
        return value.isascii() and value.isdigit()
    if kind is Kind.ALPHANUMERIC:
        return _ALPHANUMERIC.fullmatch(value) is not None
    return True  # any printable text (control characters are refused before this)


BLANK = " \u3000"  # half- and full-width spaces: a field of only these is empty


def _has_control(value: str) -> bool:
    """Control, format, surrogate or unassigned characters: never part of a typed value."""
    if value.isprintable():  # no character of category C is printable: the common case
        return False
    return any(unicodedata.category(c)[0] == "C" and c != "\u3000" for c in value)


@attrs.frozen
class TextField:
    """A text input: its manual label, character class, length bounds and rule id."""

    label: str
    rule: str
    kind: Kind
    max_len: int
    min_len: int = 0
    required: bool = False
    pattern: str | None = None  # a shape the character class alone does not catch
    shape: str | None = None  # the pattern in words, for the hint and the error (our fields')
    secret: bool = False  # a password: taken exactly as typed, every character is it

    def as_typed(self, value: str) -> str:
        """``value`` as the person meant it where the difference cannot be seen: spaces
        around it dropped, and in a 全角 or カタカナ field a half-width space made
        full-width (山田 太郎). A letter or digit of the other width can be seen, and is
        refused in the manual's words. A secret is taken as typed."""
        if self.secret:
            return value
        value = value.strip(BLANK)
        wide = self.kind in (Kind.FULL_WIDTH, Kind.KATAKANA)
        return value.replace(" ", "\u3000") if wide else value

    @property
    def constraint(self) -> str:
        """The manual's own hint, e.g. 全角50文字以内 or 半角数字9文字以上11文字以内、ハイフンなし
        (a telephone number: one typed as 03-1234-5678 is told why it is refused); ours for
        a field the manual gives none (ログインID: its ``shape``)."""
        lower = f"{self.min_len}文字以上" if self.min_len else ""
        digits = "、ハイフンなし" if self.kind is Kind.DIGITS else ""
        kind = f"{self.shape}の" if self.shape else self.kind.value
        return f"{kind}{lower}{self.max_len}文字以内{digits}"

    def check(self, value: str) -> FieldError | None:
        if not value.strip(BLANK):
            return FieldError(self.label, self.rule, f"{self.label}を入力してください。") \
                if self.required else None
        if _has_control(value):
            return FieldError(self.label, self.rule, f"{self.label}に使用できない文字が含まれています。")
        if not _is_kind(value, self.kind) or not self.min_len <= len(value) <= self.max_len:
            return FieldError(
                self.label, self.rule, f"{self.label}は{self.constraint}で入力してください。"
            )
        if self.pattern and re.fullmatch(self.pattern, value) is None:
            said = f"は{self.constraint}で入力してください。" if self.shape else "の形式が正しくありません。"
            return FieldError(self.label, self.rule, self.label + said)
        return None


@attrs.frozen
class ChoiceField:
    """A radio button: the value must be one of the manual's choices, in the manual's order;
    the default is the first unless the manual says otherwise."""

    label: str
    rule: str
    choices: tuple[str, ...]
    initial: str | None = None

    @property
    def default(self) -> str:
        return self.initial or self.choices[0]

    def check(self, value: str) -> FieldError | None:
        if value in self.choices:
            return None
        options = "・".join(self.choices)
        return FieldError(self.label, self.rule, f"{self.label}は{options}から選択してください。")


Field = TextField | ChoiceField


# Values a screen shows but never takes: named by their label when a form sends them anyway.
SHOWN_ONLY = {"customer_number": "BSお客様番号", "company": "会社名", "company_kana": "会社名フリガナ",
              "plan": "BS基本サービス"}


def _not_on_screen(name: str) -> FieldError:
    if name in SHOWN_ONLY:
        label = SHOWN_ONLY[name]
        return FieldError(label, "CI-2", f"{label}は変更できません。")
    return FieldError("送信された項目", "CI-4", "この画面にない項目が送信されました。")


def check_form(
    fields: Mapping[str, Field], form: Mapping[str, str]
) -> tuple[dict[str, str], list[FieldError]]:
    """Checks every field (all errors at once, CI-4); returns the cleaned values and errors.

    Unknown keys are refused too: an input the screen does not have is a mistake, not data
    (and is never echoed: it may be anything).
    """
    errors = list(dict.fromkeys(_not_on_screen(name) for name in form if name not in fields))
    values: dict[str, str] = {}
    for name, field in fields.items():
        raw = form.get(name)
        if raw is not None and isinstance(field, TextField):
            raw = field.as_typed(raw)  # (only spaces: empty)
        value = (field.default if isinstance(field, ChoiceField) else "") if raw is None else raw
        error = field.check(value)
        if error:
            errors.append(error)
        values[name] = value
    return values, errors
