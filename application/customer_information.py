"""お客様情報変更 (CI-1..CI-5): the main ID's screen, its 確認 and its OK."""

from __future__ import annotations

from collections.abc import Mapping

from application.confirmation import (
    CUSTOMER_INFORMATION_APPLIED,
    Confirming,
    confirmation,
    shown,
)
from application.outcomes import (
    Completed,
    Confirmation,
    Form,
    InformationScreen,
    Refusal,
    Session,
)
from domain.fields import InvalidInput
from domain.forms import CUSTOMER_INFORMATION

ONLY = Refusal.MAIN_ID_ONLY_INFORMATION  # CI-1


class CustomerInformation(Confirming):
    def customer_information(self, session: Session) -> InformationScreen:
        """The screen as it opens: what it shows (the plan too), the fields it edits."""
        customer = self.main_id(session.account_id, ONLY)
        return InformationScreen(
            {"BSお客様番号": customer.customer_number, "会社名": customer.company,
             "会社名フリガナ": customer.company_kana, "BS基本サービス": customer.plan},
            CUSTOMER_INFORMATION, shown(customer))

    def confirm_customer_information(
        self, session: Session, form: Mapping[str, str]
    ) -> Confirmation:
        """「確認」: every error at once, nothing recorded (CI-4)."""
        customer = self.main_id(session.account_id, ONLY)
        values, errors = self.check_customer_information(
            {**shown(customer), **form}, customer.information.get("download_file_password", ""))
        if errors:
            raise InvalidInput(errors, form)
        return confirmation(Form.CUSTOMER_INFORMATION, values, CUSTOMER_INFORMATION, customer)

    def submit_customer_information(self, session: Session, confirmed: Confirmation) -> Completed:
        """「OK」: applies exactly what was confirmed, or refuses if it changed since."""
        customer = self.main_id(session.account_id, ONLY)
        self.apply(customer, confirmed, CUSTOMER_INFORMATION_APPLIED, session.login_id, "CI-4")
        return Completed.CUSTOMER_INFORMATION
