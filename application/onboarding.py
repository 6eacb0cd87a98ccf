"""Onboarding: a contract and its main ID exist before anything the manual shows."""

from __future__ import annotations

from collections.abc import Mapping

from application.confirmation import Confirming
from application.outcomes import Session
from application.station import login_id_taken
from domain.accounts import Customer, LoginIndex, customer_id
from domain.fields import FieldError, InvalidInput, check_form
from domain.forms import MAIN_ID_CREDENTIALS, Plan


class Onboarding(Confirming):
    def onboard_customer(
        self, customer_number: str, company: str, company_kana: str, plan: Plan, login_id: str,
        password: str, information: Mapping[str, str],
    ) -> Session:
        """Registers the customer and its main ID, with お客様情報 as CI-2 checks it."""
        values, errors = self.check_customer_information(information)
        errors += check_form(MAIN_ID_CREDENTIALS, {"login_id": login_id, "password": password})[1]
        errors += self._taken(login_id, customer_number)
        if errors:
            raise InvalidInput(errors, information)
        customer = Customer.onboard(
            customer_number, login_id=login_id, password_digest=self.hasher.digest(password),
            information=values, company=company, company_kana=company_kana, plan=plan.value,
        )
        self.save_new(customer, LoginIndex.claim(customer),
                      taken=lambda: self._taken(login_id, customer_number))
        return Session(login_id, customer.id, customer.id, True)

    def _taken(self, login_id: str, customer_number: str) -> list[FieldError]:
        """The login ID and the BS customer number, each unique (as committed so far)."""
        return [error for error, taken in (
            (login_id_taken(), self.index(login_id) is not None),
            (FieldError("BSお客様番号", "CI-2", "このBSお客様番号は既に登録されています。"),
             customer_id(customer_number) in self.repository),
        ) if taken]
