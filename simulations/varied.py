"""What --compare varies: one number of a scenario's [policy], each run named by its value
(its folder, its column in compare.txt and compare.html, its curve and bars)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Varied:
    key: str  # the scenario's [policy] key
    field: str  # the report's field that states it
    english: str  # compare.txt's heading of the columns
    unit: str  # after a value in compare.txt
    name_ja: str  # what differs, in compare.html's and the plots' titles
    label_ja: str  # a run's value in Japanese: format(value)
    folder: str  # each run's folder: FOLDER-VALUE

    def value(self, report: object) -> float:
        return float(getattr(report, self.field))

    def shown(self, value: float) -> str:
        return f"{value:g}{self.unit}"

    def label(self, value: float) -> str:
        return self.label_ja.format(f"{value:g}")

    def folder_of(self, value: float) -> str:
        return f"{self.folder}-{value:g}"


VALIDITY = Varied("key_validity_minutes", "validity_minutes", "key validity", " min",
                  "通知キーの有効期限", "有効期限 {}分", "validity")
VARIED = {v.key: v for v in (
    VALIDITY,
    Varied("max_wrong_entries", "wrong_entry_limit", "wrong entries", "",
           "誤入力の上限 (D-4)", "誤入力 {}回まで", "wrong-entries"),
    Varied("max_keys_per_hour", "keys_per_hour", "keys per hour", "/h",
           "1時間の送信上限 (D-10)", "1時間に {}通まで", "keys-per-hour"),
    Varied("address_failure_limit", "address_failure_limit", "D-14 failures", "",
           "接続元IPアドレスの失敗の上限 (D-14)", "1アドレスの失敗 {}回まで",
           "address-limit"),
    Varied("address_window_minutes", "address_window_minutes", "D-14 window", " min",
           "接続元IPアドレスの失敗を数える時間 (D-14)", "失敗を数える時間 {}分",
           "address-window"),
)}
