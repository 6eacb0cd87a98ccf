"""BillingStation: the manual's use cases as methods, the only way into the model."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application import config
from application.mail import Mailer, MailError, key_mail, notice_mail
from application.screens import (
    CONFLICT,
    CUSTOMER_INFORMATION_DONE,
    KEY_EXPIRED,
    KEY_LIMIT,
    KEY_NOT_RECEIVED,
    KEY_UNUSABLE,
    KEY_WRONG,
    LOGIN_FAILED,
    MAIL_FAILED,
    MAIN_ID_ONLY_INFORMATION,
    MAIN_ID_ONLY_PERMISSIONS,
    MAIN_ID_PERSON,
    MASK,
    OPERATOR,
    SUB_ID_DONE,
    Confirmation,
    ErrorPage,
    KeyEntry,
    LoginScreen,
    Refused,
    Session,
    TopPage,
)
from application.store import MAPPER_TOPIC, TRANSCODER_TOPIC
from domain import clock
from domain.accounts import Account, Customer, LoginIndex, SubID, customer_id, login_index_id
from domain.fields import ChoiceField, Field, FieldError, InvalidInput, check_form
from domain.forms import (
    ALL_ORGANIZATIONS,
    CUSTOMER_INFORMATION,
    MAIN_ID_CREDENTIALS,
    ORGANIZATION_LABEL,
    PERMISSIONS,
    SECRET_FIELDS,
    SUB_ID_INFORMATION,
    SUB_ID_REGISTRATION,
    Plan,
)
from domain.login_attempt import KeyOutcome, LoginAttempt
from domain.policy import Entropy, Hasher, KeyPolicy, new_id

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Aggregate)


class BillingStation(Application[UUID]):
    """Billing Station's notify key, event-sourced.

    ``env`` overrides the store settings of ``config.store_env()``; ``mailer``, ``hasher``
    and ``policy`` default to the configured ones.
    """

    name = "BillingStation"
    snapshotting_intervals: ClassVar = {Customer: 50, SubID: 50}  # accounts grow a login each

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        mailer: Mailer | None = None,
        hasher: Hasher | None = None,
        policy: KeyPolicy | None = None,
        entropy: Entropy = secrets,
    ):
        store = config.store_env() if env is None else dict(env)
        super().__init__(
            {"TRANSCODER_TOPIC": TRANSCODER_TOPIC, "MAPPER_TOPIC": MAPPER_TOPIC, **store})
        self.mailer = mailer or config.mailer()
        self.hasher = hasher or config.hasher()
        self.policy = policy or KeyPolicy()
        self.entropy = entropy
        self._decoy = self.hasher.decoy()

    # Onboarding (not in the manual: a contract and its main ID exist before anything) ------
    def onboard_customer(
        self,
        customer_number: str,
        company: str,
        company_kana: str,
        plan: Plan,
        login_id: str,
        password: str,
        information: Mapping[str, str],
    ) -> Session:
        values, errors = self._check_customer_information(information)
        errors += check_form(MAIN_ID_CREDENTIALS, {"login_id": login_id, "password": password})[1]
        if self._index(login_id) is not None:
            errors.append(_login_id_taken())
        if customer_id(customer_number) in self.repository:
            errors.append(FieldError("BSお客様番号", "CI-2", "このBSお客様番号は既に登録されています。"))
        if errors:
            raise InvalidInput(errors, information)
        customer = Customer.onboard(
            customer_number, login_id=login_id, password_digest=self.hasher.digest(password),
            information=values, company=company, company_kana=company_kana, plan=plan.value,
        )
        self._save_new(customer, LoginIndex.claim(customer))
        return _session(customer)

    def register_organization(self, session: Session, name: str) -> None:
        """組織設定: an organization a sub ID can be assigned to (SB-5)."""
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        customer.register_organization(name, by=session.login_id)
        self.save(customer)

    # お客様情報変更 (CI-1..CI-5) ------------------------------------------------------------
    def customer_information(self, session: Session) -> dict[str, Any]:
        """The screen's values: shown fields, editable fields (secrets masked), the plan."""
        customer = self._main(session, MAIN_ID_ONLY_INFORMATION, "CI-1")
        return {
            "BSお客様番号": customer.customer_number,
            "会社名": customer.company,
            "会社名フリガナ": customer.company_kana,
            **{CUSTOMER_INFORMATION[k].label: v for k, v in _shown(customer).items()},
            "BS基本サービス": customer.plan,
        }

    def confirm_customer_information(
        self, session: Session, form: Mapping[str, str]
    ) -> Confirmation:
        """「確認」: every error at once, nothing recorded (CI-4)."""
        customer = self._main(session, MAIN_ID_ONLY_INFORMATION, "CI-1")
        values, errors = self._check_customer_information({**_shown(customer), **form})
        if errors:
            raise InvalidInput(errors, form)
        return self._confirmation("お客様情報変更確認", values, CUSTOMER_INFORMATION, customer)

    def submit_customer_information(self, session: Session, confirmed: Confirmation) -> str:
        """「OK」: applies exactly what was confirmed, or refuses if it changed since."""
        customer = self._main(session, MAIN_ID_ONLY_INFORMATION, "CI-1")
        self._apply(customer, confirmed, session, "CI-4")
        return CUSTOMER_INFORMATION_DONE

    # 権限設定 (SB-1..SB-8) --------------------------------------------------------------------
    def permission_settings(self, session: Session) -> list[dict[str, str]]:
        """The list of registered sub IDs (SB-4)."""
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        return [
            {"ログインID": login_id, **{
                SUB_ID_INFORMATION[k].label: v for k, v in _shown(sub).items()
                if k in ("person_in_charge", "email", "notify_key")
            }}
            for login_id, sub in ((i, self.get(s, SubID)) for i, s in customer.sub_ids.items())
        ]

    def sub_id_fields(self, session: Session, new: bool) -> list[str]:
        """The labels the 副ID screen shows: the download plan has no 所属組織 and no
        操作権限設定 (SB-6)."""
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        fields = _sub_id_fields(customer, new)
        return ([] if new else ["ログインID"]) + [f.label for f in fields.values()]

    def confirm_new_sub_id(self, session: Session, form: Mapping[str, str]) -> Confirmation:
        """副ID 新規登録 「確認」 (SB-7, SB-8)."""
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        values, errors = _check_sub_id(customer, form, new=True)
        if self._index(values["login_id"]) is not None:
            errors.append(_login_id_taken())
        if errors:
            raise InvalidInput(errors, form)
        values["temporary_password"] = self.hasher.digest(values["temporary_password"])
        return self._confirmation(
            "副ID 設定内容確認", values, _sub_id_fields(customer, new=True), customer
        )

    def submit_new_sub_id(self, session: Session, confirmed: Confirmation) -> str:
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        if customer.version != confirmed.version:
            raise Refused(CONFLICT, "SB-8")
        values = dict(confirmed.values)
        sub = SubID.register(
            customer, id=new_id(self.entropy), login_id=values.pop("login_id"),
            password_digest=values.pop("temporary_password"), information=values,
        )
        customer.add_sub_id(sub, by=session.login_id)
        self._save_new(customer, sub, LoginIndex.claim(sub))
        return SUB_ID_DONE

    def confirm_sub_id_change(
        self, session: Session, login_id: str, form: Mapping[str, str]
    ) -> Confirmation:
        """副ID 情報変更 「確認」 (SB-5, SB-8)."""
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        sub = self._sub_id_of(customer, login_id)
        values, errors = _check_sub_id(customer, {**_shown(sub), **form}, new=False)
        if errors:
            raise InvalidInput(errors, form)
        return self._confirmation(
            "副ID 設定内容確認", values, _sub_id_fields(customer, new=False), sub
        )

    def submit_sub_id_change(self, session: Session, confirmed: Confirmation) -> str:
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        sub = self.get(confirmed.target_id, SubID)
        if sub.customer_id != customer.id:
            raise Refused(MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        self._apply(sub, confirmed, session, "SB-8")
        return SUB_ID_DONE

    def sub_id_information(self, session: Session, login_id: str) -> dict[str, str]:
        customer = self._main(session, MAIN_ID_ONLY_PERMISSIONS, "SB-2")
        sub = self._sub_id_of(customer, login_id)
        fields = _sub_id_fields(customer, new=False)
        return {"ログインID": login_id} | {
            fields[k].label: v for k, v in _shown(sub).items() if k in fields
        }

    # Login (LG-1..LG-8, SB-9, D-1..D-10) --------------------------------------------------
    def log_in(self, login_id: str, password: str) -> LoginScreen:
        """「ログイン」: the password, then the top page or 通知キー照合 with a mailed key.
        Two logins of one login ID at once: the store lets one commit; the other is decided
        again on what was committed (no mail is sent for a write that did not commit)."""
        return _decided_again(lambda: self._log_in(login_id, password), "D-2")

    def _log_in(self, login_id: str, password: str) -> LoginScreen:
        now = clock.now()
        account = self._account(login_id)
        attempt = LoginAttempt.request(
            login_id, account.id if account else None, now, new_id(self.entropy))
        digest = account.password_digest if account else self._decoy  # D-9: same work
        if not self.hasher.matches(password, digest) or account is None:
            attempt.reject_password(now)
            self.save(attempt)
            return ErrorPage(LOGIN_FAILED)
        if not attempt.accept_password(account.notify_key, account.first_login, now):
            attempt.complete(now)
            account.logged_in(attempt.id, now)
            self.save(attempt, account)
            return self._top_page(account)
        return self._mail_key(attempt, account)

    def _mail_key(self, attempt: LoginAttempt, account: Account) -> LoginScreen:
        now = attempt.modified_on
        sent = account.keys_mailed_since(now - self.policy.key_window)
        if sent >= self.policy.max_keys_per_window:  # D-10
            attempt.withhold_key(sent, now)
            self.save(attempt)
            return ErrorPage(KEY_LIMIT)
        earlier = self._pending_attempt(account)
        key = self.policy.new_key(self.entropy)
        attempt.issue_key(self.hasher.digest(key), account.email, self.policy, now)
        account.key_mailed(attempt.id, now)
        if earlier is not None:
            earlier.supersede(attempt.id, now)  # D-2
        self.save(attempt, account, *([earlier] if earlier else []))  # one transaction
        assert attempt.expires_at is not None
        try:
            self.mailer.send(key_mail(account.email, account.login_id, key, attempt.expires_at,
                                      attempt.valid_for))
        except MailError as e:
            log.error("key mail for attempt %s failed: %s", attempt.id, e)
            attempt.mail_failed(str(e))
            self.save(attempt)
            return ErrorPage(MAIL_FAILED)
        return KeyEntry(attempt.id)

    def enter_key(self, attempt_id: UUID, key: str) -> LoginScreen:
        """「OK」 on 通知キー照合. Two entries racing on one attempt: the store lets one
        commit; the other is decided again on what was committed."""
        return _decided_again(lambda: self._enter_key(attempt_id, key), "D-3")

    def _enter_key(self, attempt_id: UUID, key: str) -> LoginScreen:
        now = clock.now()
        attempt = self.get(attempt_id, LoginAttempt)
        outcome = attempt.enter_key(key, self.hasher, now)
        if outcome is not KeyOutcome.VERIFIED:
            self.save(attempt)
            return _key_error(outcome, attempt_id)
        assert attempt.account_id is not None
        account = self.get(attempt.account_id, Account)
        account.logged_in(attempt.id, now)
        self.save(attempt, account)
        return self._top_page(account)

    def top_page(self, session: Session) -> TopPage:
        return self._top_page(self.get(session.account_id, Account))

    def key_mail_contact(self, login_id: str) -> str:
        """LG-8: whom to ask when the key mail does not arrive."""
        account = self._account(login_id)
        if isinstance(account, SubID):
            main = self.get(account.customer_id, Customer)
            return f"{KEY_NOT_RECEIVED}\n副IDの場合：{MAIN_ID_PERSON} ({main.information['contact_name']})"
        return f"{KEY_NOT_RECEIVED}\n主IDの場合：{OPERATOR}"

    # Helpers -------------------------------------------------------------------------------
    def get(self, aggregate_id: UUID, kind: type[A]) -> A:
        """An aggregate, checked to be a ``kind`` (a typed read for services, audits, tests)."""
        aggregate: Aggregate = self.repository.get(aggregate_id)
        if not isinstance(aggregate, kind):
            raise TypeError(f"aggregate {aggregate_id} is a {type(aggregate).__name__}, "
                            f"not a {kind.__name__}")
        return aggregate

    def _index(self, login_id: str) -> LoginIndex | None:
        try:
            return self.get(login_index_id(login_id), LoginIndex)
        except AggregateNotFoundError:
            return None

    def _account(self, login_id: str) -> Account | None:
        index = self._index(login_id)
        return self.get(index.account_id, Account) if index else None

    def _pending_attempt(self, account: Account) -> LoginAttempt | None:
        if account.pending_attempt_id is None:
            return None
        return self.get(account.pending_attempt_id, LoginAttempt)

    def _main(self, session: Session, message: str, rule: str) -> Customer:
        if not session.is_main_id:
            raise Refused(message, rule)
        return self.get(session.customer_id, Customer)

    def _sub_id_of(self, customer: Customer, login_id: str) -> SubID:
        if login_id not in customer.sub_ids:
            raise InvalidInput([FieldError("ログインID", "SB-4", "この副IDは登録されていません。")])
        return self.get(customer.sub_ids[login_id], SubID)

    def _top_page(self, account: Account) -> TopPage:
        """The header names the company for a main ID, the person in charge for a sub ID."""
        if isinstance(account, SubID):
            customer = self.get(account.customer_id, Customer)
            name = account.information["person_in_charge"]
        else:
            customer = cast(Customer, account)
            name = customer.company
        return TopPage(_session(account), name, customer.customer_number, account.previous_login_at)

    def _check_customer_information(
        self, form: Mapping[str, str]
    ) -> tuple[dict[str, str], list[FieldError]]:
        values, errors = check_form(CUSTOMER_INFORMATION, form)
        if values["email_confirmation"] != values["email"]:
            errors.append(FieldError(
                "連絡先メールアドレス(確認)", "CI-2",
                "連絡先メールアドレス(確認)が連絡先メールアドレスと一致しません。",
            ))
        del values["email_confirmation"]
        if values.get("download_file_password") and not errors:
            values["download_file_password"] = self.hasher.digest(values["download_file_password"])
        return values, errors

    @staticmethod
    def _confirmation(
        title: str, values: dict[str, str], fields: Mapping[str, Field], target: Account
    ) -> Confirmation:
        labels = {k: f.label for k, f in fields.items()} | {"login_id": "ログインID"}
        return Confirmation(title, values, labels, target.id, target.version)

    def _apply(
        self, account: Account, confirmed: Confirmation, session: Session, rule: str
    ) -> None:
        """Applies a confirmed change; D-11 notices go to the previous address."""
        if account.id != confirmed.target_id or account.version != confirmed.version:
            raise Refused(CONFLICT, rule)
        before_email, before_key = account.email, account.notify_key
        changes = {k: v for k, v in confirmed.values.items()
                   if not (k in SECRET_FIELDS and v in ("", MASK))}
        account.change_information(changes, by=session.login_id)
        try:
            self.save(account)
        except IntegrityError as e:
            raise Refused(CONFLICT, rule) from e
        for changed, what in (
            (account.email != before_email, "通知キーの送付先メールアドレスが変更されました"),
            (before_key and not account.notify_key, "通知キーの利用が「利用しない」に変更されました"),
        ):
            if changed:
                self._send_notice(before_email, account.login_id, what)

    def _send_notice(self, to: str, login_id: str, what: str) -> None:
        try:
            self.mailer.send(notice_mail(to, login_id, what))
        except MailError as e:  # the change stands; the notice is best effort, and logged
            log.error("notice to %s failed: %s", to, e)

    def _save_new(self, *aggregates: Any) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError as e:  # a login ID or customer number claimed meanwhile
            raise InvalidInput([_login_id_taken()]) from e


def _decided_again(command: Callable[[], LoginScreen], rule: str) -> LoginScreen:
    """Runs a login command; if another process committed first, runs it again on what
    was committed (a few times, then a clear conflict)."""
    for _ in range(3):
        try:
            return command()
        except IntegrityError:
            continue
    raise Refused(CONFLICT, rule)


def _login_id_taken() -> FieldError:
    return FieldError("ログインID", "SB-7", "このログインIDは既に使用されています。")


def _session(account: Account) -> Session:
    owner = account.customer_id if isinstance(account, SubID) else account.id
    return Session(account.login_id, account.id, owner, not isinstance(account, SubID))


def _shown(account: Account) -> dict[str, str]:
    """An account's editable values as the screen shows them: secrets masked."""
    values = {k: (MASK if k in SECRET_FIELDS and v else v) for k, v in account.information.items()}
    if isinstance(account, Customer):
        values["email_confirmation"] = values["email"]
        values["download_file_password"] = ""  # re-typed only to change it
    return values


def _sub_id_fields(customer: Customer, new: bool) -> dict[str, Field]:
    fields = dict(SUB_ID_REGISTRATION if new else SUB_ID_INFORMATION)
    if customer.plan == Plan.STANDARD.value:  # SB-6: the download plan shows neither
        organizations = (ALL_ORGANIZATIONS, *customer.organizations)
        fields["organization"] = ChoiceField(ORGANIZATION_LABEL, "SB-5", organizations)
        fields |= PERMISSIONS
    return fields


def _check_sub_id(
    customer: Customer, form: Mapping[str, str], new: bool
) -> tuple[dict[str, str], list[FieldError]]:
    fields = _sub_id_fields(customer, new)
    not_shown = [k for k in form if k not in fields and (k == "organization" or k in PERMISSIONS)]
    errors = [
        FieldError(
            label, "SB-6", f"ダウンロードプランでは{label}は設定できません。"
        )
        for label in dict.fromkeys(
            ORGANIZATION_LABEL if k == "organization" else "操作権限設定" for k in not_shown
        )
    ]
    values, more = check_form(fields, {k: v for k, v in form.items() if k not in not_shown})
    return values, errors + more


def _key_error(outcome: KeyOutcome, attempt_id: UUID) -> LoginScreen:
    if outcome is KeyOutcome.WRONG:
        return KeyEntry(attempt_id, KEY_WRONG)  # D-4: retry while valid
    if outcome is KeyOutcome.EXPIRED:
        return ErrorPage(KEY_EXPIRED)  # LG-5
    if outcome is KeyOutcome.LOCKED:
        return ErrorPage(LOGIN_FAILED)  # D-9: a locked attempt reads as a failed login
    return ErrorPage(KEY_UNUSABLE)  # D-2, D-3

