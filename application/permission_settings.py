"""権限設定 (SB-1..SB-8): the main ID's list of sub IDs, 副ID 新規登録 and 副ID 情報変更,
each with 確認 and OK; and 組織設定, whose organizations a sub ID is assigned to (SB-5)."""

from __future__ import annotations

from collections.abc import Mapping

from application.confirmation import Confirming, check_sub_id, confirmation, shown, sub_id_fields
from application.outcomes import (
    Completed,
    Confirmation,
    Form,
    InformationScreen,
    Refusal,
    Refused,
    Session,
    SubIDRow,
)
from application.station import login_id_taken
from domain.accounts import Customer, LoginIndex, SubID
from domain.crypto import new_id, same_digest
from domain.fields import Field, FieldError, InvalidInput

ONLY = Refusal.MAIN_ID_ONLY_PERMISSIONS  # SB-2


class PermissionSettings(Confirming):
    def register_organization(self, session: Session, name: str) -> None:
        """組織設定: an organization a sub ID can be assigned to (SB-5)."""
        customer = self.main_id(session.account_id, ONLY)
        customer.register_organization(name, by=session.login_id)
        self.save(customer)

    def permission_settings(self, session: Session) -> list[SubIDRow]:
        """The list of registered sub IDs (SB-4)."""
        customer = self.main_id(session.account_id, ONLY)
        return [_row(login_id, self.get(sub_id, SubID))
                for login_id, sub_id in customer.sub_ids.items()]

    def sub_id_fields(self, session: Session, new: bool) -> Mapping[str, Field]:
        """The fields the 副ID screen edits, in its order (SB-5, SB-6, SB-7)."""
        return sub_id_fields(self.main_id(session.account_id, ONLY), new)

    def confirm_new_sub_id(self, session: Session, form: Mapping[str, str]) -> Confirmation:
        """副ID 新規登録 「確認」 (SB-7, SB-8)."""
        customer = self.main_id(session.account_id, ONLY)
        values, errors = check_sub_id(customer, form, new=True)
        if self.index(values["login_id"]) is not None:
            errors.append(login_id_taken())
        if errors:
            raise InvalidInput(errors, form)
        values["temporary_password"] = self.hasher.digest(values["temporary_password"])
        return confirmation(Form.SUB_ID, values, sub_id_fields(customer, new=True), customer)

    def submit_new_sub_id(self, session: Session, confirmed: Confirmation) -> Completed:
        customer = self.main_id(session.account_id, ONLY)
        # A new sub ID's screen shows nothing of the customer's own information (a change
        # of it since is no conflict); its choices are checked again below.
        if confirmed.target_id != customer.id:
            raise Refused(Refusal.CONFLICT, "SB-8")
        if (mine := self._made_by(customer, confirmed)) is not None:
            if mine:  # OK pressed again (a double click, a resubmit): nothing left to do
                return Completed.SUB_ID
            raise Refused(Refusal.CONFLICT, "SB-8")  # another 確認's, not 「既に使用…」
        values = self.recheck(confirmed, sub_id_fields(customer, new=True))
        login_id = values.pop("login_id")
        sub = SubID.register(
            customer, id=new_id(self.entropy), login_id=login_id,
            password_digest=values.pop("temporary_password"), information=values,
        )
        customer.add_sub_id(sub, by=session.login_id)
        try:
            self.save_new(customer, sub, LoginIndex.claim(sub),
                          taken=lambda: [login_id_taken()] if self.index(login_id) else [])
        except (InvalidInput, Refused):  # the same OK, sent twice, handled at once elsewhere
            if self._made_by(self.get(customer.id, Customer), confirmed):
                return Completed.SUB_ID
            raise
        return Completed.SUB_ID

    def _made_by(self, customer: Customer, confirmed: Confirmation) -> bool | None:
        """Whether the customer's sub ID of the confirmed login ID is this confirmation's
        own (its temporary password's digest has the salt drawn at this 確認); None when it
        has none."""
        made = customer.sub_ids.get(confirmed.values.get("login_id", ""))
        if made is None:
            return None
        return same_digest(self.get(made, SubID).password_digest,
                           confirmed.values.get("temporary_password", ""))

    def sub_id_information(self, session: Session, login_id: str) -> InformationScreen:
        """A sub ID's 情報変更 as it opens (SB-5)."""
        customer = self.main_id(session.account_id, ONLY)
        sub = self._sub_id_of(customer, login_id)
        fields = sub_id_fields(customer, new=False)
        return InformationScreen({"ログインID": login_id}, fields,
                                 {k: v for k, v in shown(sub).items() if k in fields})

    def confirm_sub_id_change(
        self, session: Session, login_id: str, form: Mapping[str, str]
    ) -> Confirmation:
        """副ID 情報変更 「確認」 (SB-5, SB-8)."""
        customer = self.main_id(session.account_id, ONLY)
        sub = self._sub_id_of(customer, login_id)
        values, errors = check_sub_id(customer, {**shown(sub), **form}, new=False)
        if errors:
            raise InvalidInput(errors, form)
        return confirmation(Form.SUB_ID, values, sub_id_fields(customer, new=False), sub)

    def submit_sub_id_change(self, session: Session, confirmed: Confirmation) -> Completed:
        customer = self.main_id(session.account_id, ONLY)
        sub = self.find(confirmed.target_id, SubID)
        if sub is None or sub.customer_id != customer.id:  # not this customer's sub ID
            raise Refused(ONLY, "SB-2")
        self.apply(sub, confirmed, sub_id_fields(customer, new=False), session.login_id, "SB-8")
        return Completed.SUB_ID

    def _sub_id_of(self, customer: Customer, login_id: str) -> SubID:
        if login_id not in customer.sub_ids:
            raise InvalidInput([FieldError("ログインID", "SB-4", "この副IDは登録されていません。")])
        return self.get(customer.sub_ids[login_id], SubID)


def _row(login_id: str, sub: SubID) -> SubIDRow:
    held = sub.information
    return SubIDRow(login_id, held["person_in_charge"], held["email"], held["notify_key"])
