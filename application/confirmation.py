"""Forms and the 確認/OK protocol (CI-4, SB-8): every field checked at once, a confirmation
that records nothing, and an OK that applies exactly what was confirmed or refuses. The
notices of D-11 go out when an OK moves the second factor."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from application.messages import notice_mail
from application.outcomes import Confirmation, Form, Refusal, Refused
from application.ports import MailError
from application.screens import MASK
from application.station import Station, committed
from domain.accounts import Account, Customer
from domain.crypto import Hasher, same_digest
from domain.fields import ChoiceField, Field, FieldError, InvalidInput, TextField, check_form
from domain.forms import (
    ALL_ORGANIZATIONS,
    CUSTOMER_INFORMATION,
    ORGANIZATION_LABEL,
    PERMISSIONS,
    SECRET_FIELDS,
    SUB_ID_INFORMATION,
    SUB_ID_REGISTRATION,
    Plan,
)

log = logging.getLogger(__name__)


class Confirming(Station):
    def check_customer_information(
        self, form: Mapping[str, str], current: str = ""
    ) -> tuple[dict[str, str], list[FieldError]]:
        """CI-2's fields; the download-file password kept as a digest (D-7), or left
        unchanged when it is the ``current`` one's password typed again (a 確認 sent again
        after its OK: a new digest of it would record a change that is none)."""
        values, errors = check_form(CUSTOMER_INFORMATION, form)
        emails = values["email"], values["email_confirmation"]
        if all(emails) and emails[0] != emails[1]:  # (also beside a malformed one: CI-4 says
            errors.append(FieldError(  # every error; one left empty is said once, as such)
                "連絡先メールアドレス(確認)", "CI-2",
                "連絡先メールアドレス(確認)が連絡先メールアドレスと一致しません。",
            ))
        del values["email_confirmation"]
        typed = values.get("download_file_password")
        if typed and not errors:
            values["download_file_password"] = (
                "" if current and self.hasher.matches(typed, current) else self.hasher.digest(typed))
        return values, errors

    def recheck(self, confirmed: Confirmation, fields: Mapping[str, Field]) -> dict[str, str]:
        """「OK」 checks again what it is handed back, as 確認 did, so a confirmation changed on
        its way cannot bring in what 確認 refused: every field of the screen and no other,
        each valid; a secret as 確認 left it (a digest, or untouched where it may be) or else
        digested now."""
        values = dict(confirmed.values)
        errors = [] if values.keys() == fields.keys() else [FieldError(
            "確認画面", "CI-4", "確認画面の内容が正しくありません。もう一度入力してください。")]
        for key in values.keys() & fields.keys():
            value = values[key]
            field = fields[key]
            if key in SECRET_FIELDS and (Hasher.is_digest(value) or (
                    value in ("", MASK) and isinstance(field, TextField) and not field.required)):
                continue
            error = field.check(value)
            if error:
                errors.append(error)
            elif key in SECRET_FIELDS:
                values[key] = self.hasher.digest(value)  # D-7: never stored in clear
        if errors:
            raise InvalidInput(errors)
        return values

    def apply(self, account: Account, confirmed: Confirmation, fields: Mapping[str, Field],
              by: str, rule: str) -> None:
        """「OK」: applies a confirmed change, or refuses if what the screen showed changed
        since (edited_version), unless the account already holds what was confirmed (OK
        pressed again: nothing is left to do). Another write committed meanwhile (a login
        of the account) makes the store refuse the save: read again, it is applied on what
        was committed, unless that was a change. D-11 notices go to the previous address."""
        def once() -> tuple[str, bool, Account] | None:
            current = self.get(account.id, type(account))
            if not confirmed.still_shows(current):
                if holds(current, confirmed):
                    return None
                raise Refused(Refusal.CONFLICT, rule)
            before = current.email, current.notify_key
            changes = {k: v for k, v in self.recheck(confirmed, fields).items()
                       if not _left_unchanged(k, v)}
            current.change_information(changes, by=by)
            self.save(current)
            return *before, current

        applied = committed(once, rule)
        if applied is None:
            return
        before_email, before_key, account = applied
        address = "通知キーの送付先メールアドレス" if before_key or account.notify_key else \
            fields["email"].label  # (no key goes there: the field, by its label)
        changes = [what for changed, what in (
            (account.email != before_email, f"{address}が変更されました"),
            (before_key and not account.notify_key, "通知キーの利用が「利用しない」に変更されました"),
        ) if changed]
        if changes:  # (one OK, one notice: both of its changes in it)
            self._send_notice(before_email, account.login_id, changes)

    def _send_notice(self, to: str, login_id: str, changes: list[str]) -> None:
        try:
            self.mailer.send(notice_mail(to, login_id, changes, self.login_url))
        except MailError as e:  # the change stands; the notice is best effort, and logged
            log.error("notice to %s failed: %s", to, e)


# お客様情報変更 as OK applies it: the confirmation address is checked at 確認 only.
CUSTOMER_INFORMATION_APPLIED = {k: f for k, f in CUSTOMER_INFORMATION.items()
                                if k != "email_confirmation"}


def confirmation(
    form: Form, values: dict[str, str], fields: Mapping[str, Field], target: Account
) -> Confirmation:
    labels = {k: f.label for k, f in fields.items()} | {"login_id": "ログインID"}
    return Confirmation(form, values, labels, target.id, target.edited_version)


def holds(account: Account, confirmed: Confirmation) -> bool:
    """Whether ``account`` already holds every value ``confirmed`` would set (a secret left
    unchanged aside; one typed is a digest with the salt drawn at its 確認): its OK pressed
    again, by a double click or a resubmit, answers 完了 and records nothing, rather than
    blame another operation for the user's own click."""
    def same(key: str, value: str) -> bool:
        held = account.information.get(key)
        if key in SECRET_FIELDS:  # two digests, compared in constant time (D-7)
            return held is not None and same_digest(held, value)
        return held == value

    return account.id == confirmed.target_id and all(
        same(k, v) for k, v in confirmed.values.items() if not _left_unchanged(k, v))


def _left_unchanged(key: str, value: str) -> bool:
    """A secret a confirmation leaves as it is (not typed, or shown masked): OK sets nothing."""
    return key in SECRET_FIELDS and value in ("", MASK)


def shown(account: Account) -> dict[str, str]:
    """An account's editable values as the screen shows them: secrets masked."""
    values = {k: (MASK if k in SECRET_FIELDS and v else v) for k, v in account.information.items()}
    if isinstance(account, Customer):
        values["email_confirmation"] = values["email"]
        values["download_file_password"] = ""  # re-typed only to change it
    return values


def sub_id_fields(customer: Customer, new: bool) -> dict[str, Field]:
    """The 副ID screen's fields in its order: 所属組織 after 登録先メールアドレス, as the
    manual shows it (SB-5); the download plan has no 所属組織 and no 操作権限設定 (SB-6)."""
    shown = SUB_ID_REGISTRATION if new else SUB_ID_INFORMATION
    if customer.plan != Plan.STANDARD.value:
        return dict(shown)
    organization = ChoiceField(ORGANIZATION_LABEL, "SB-5",
                               (ALL_ORGANIZATIONS, *customer.organizations))
    fields: dict[str, Field] = {}
    for name, field in shown.items():
        fields[name] = field
        if name == "email":
            fields["organization"] = organization
    return fields | PERMISSIONS


def check_sub_id(
    customer: Customer, form: Mapping[str, str], new: bool
) -> tuple[dict[str, str], list[FieldError]]:
    fields = sub_id_fields(customer, new)
    not_shown = [k for k in form if k not in fields and (k == "organization" or k in PERMISSIONS)]
    errors = [
        FieldError(label, "SB-6", f"ダウンロードプランでは{label}は設定できません。")
        for label in dict.fromkeys(
            ORGANIZATION_LABEL if k == "organization" else "操作権限設定" for k in not_shown
        )
    ]
    values, more = check_form(fields, {k: v for k, v in form.items() if k not in not_shown})
    return values, errors + more
