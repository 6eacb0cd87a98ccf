"""The numbers of a scenario's [policy] as people read them, and what --compare varies: one
of them, each run named by its value (its folder, its column in compare.txt and
compare.html, its curve and bars)."""

from __future__ import annotations

import attrs

from application.japan_time import span


def number(value: float) -> str:
    """A value as a run is named by it: a whole number in full, else to 6 significant
    figures (whole seconds up to a day stay distinct)."""
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


@attrs.frozen
class Varied:
    key: str  # the scenario's [policy] key
    field: str  # the report's field that states it
    english: str  # compare.txt's heading of the columns ({}: the paired number, if any)
    unit: str  # after a value in compare.txt
    name_ja: str  # what differs, in compare.html's and the plots' titles
    label_ja: str  # a run's value in Japanese: format(value)
    folder: str  # each run's folder: FOLDER-VALUE
    d14: bool = False  # D-14's: counted only where logins come from client addresses
    one: str | None = None  # the unit after 1, if not ``unit``
    minutes: bool = False  # a duration in minutes: said in Japanese as 10分, or 90秒
    paired: str | None = None  # the key that gives it meaning, named in its heading

    def heading(self, report: object) -> str:
        """compare.txt's heading: D-14's limit says its window, and its window its limit."""
        if self.paired is None:
            return self.english
        other = VARIED[self.paired]
        return self.english.format(other.shown(other.value(report)))

    def value(self, report: object) -> float:
        return float(getattr(report, self.field))

    def shown(self, value: float) -> str:
        return f"{number(value)}{self.one if value == 1 and self.one else self.unit}"

    def label(self, value: float) -> str:
        return self.label_ja.format(span(value * 60) if self.minutes else number(value))

    def folder_of(self, value: float) -> str:
        return f"{self.folder}-{number(value)}"


VALIDITY = Varied("key_validity_minutes", "validity_minutes", "key validity", " min",
                  "通知キーの有効期限", "有効期限 {}", "validity", minutes=True)
VARIED = {v.key: v for v in (
    VALIDITY,
    Varied("max_wrong_entries", "wrong_entry_limit", "D-4 limit", " wrong entries",
           "誤入力の上限 (D-4)", "誤入力 {}回まで", "wrong-entries", one=" wrong entry"),
    Varied("max_keys_per_hour", "keys_per_hour", "D-10 limit", " keys/h",
           "1時間の送信上限 (D-10)", "1時間に {}通まで", "keys-per-hour", one=" key/h"),
    Varied("address_failure_limit", "address_failure_limit", "D-14 limit in {}", " failures",
           "接続元IPアドレスの失敗の上限 (D-14)", "1アドレスの失敗 {}回まで", "address-limit",
           d14=True, one=" failure", paired="address_window_minutes"),
    Varied("address_window_minutes", "address_window_minutes", "D-14 window of {}", " min",
           "接続元IPアドレスの失敗を数える時間 (D-14)", "失敗を数える時間 {}",
           "address-window", d14=True, minutes=True, paired="address_failure_limit"),
)}


def policy_ja(report: object, leave_out: Varied | None = None) -> str:
    """The run's policy in a line of Japanese (D-14's numbers where logins come from client
    addresses), but ``leave_out``."""
    addresses = bool(getattr(report, "client_addresses", 0))
    return "、".join(v.label(v.value(report)) for v in VARIED.values()
                    if v is not leave_out and (addresses or not v.d14))
