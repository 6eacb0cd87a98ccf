"""Every form field, any text (CI-2, SB-5): either it is accepted and reads back as typed (but
for what cannot be seen: spaces around it, a space's width in a 全角 field), or it is refused
with the field's own label and nothing at all is recorded."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.outcomes import Session
from domain.accounts import Customer
from domain.fields import ChoiceField, Field, InvalidInput, Kind
from domain.forms import CUSTOMER_INFORMATION, PERMISSIONS, SECRET_FIELDS, SUB_ID_INFORMATION
from tests.conftest import FAST_HASHER, build
from tests.story import KeyRecorder, add_sub_id, onboard

ALPHABETS = {  # text a person of each kind would type, so accepted values occur often
    Kind.FULL_WIDTH: "山田太郎総務部東京都千代田区大手町１２３ＡＢ　－",
    Kind.KATAKANA: "ヤマダタロウソウムブァヶー・　",
    Kind.HALF_WIDTH: string.ascii_letters + string.digits + " .-@_",
    Kind.DIGITS: string.digits,
    Kind.ALPHANUMERIC: string.ascii_letters + string.digits,
    Kind.ANY: string.ascii_letters + "あいう漢字ｶﾅ　\t",
}


def values(field: Field) -> st.SearchStrategy[str]:
    if isinstance(field, ChoiceField):
        return st.one_of(st.sampled_from(field.choices), st.text(max_size=8))
    typed = st.text(alphabet=ALPHABETS[field.kind], max_size=field.max_len + 3)
    shaped = st.emails().filter(lambda e: len(e) <= field.max_len) if field.pattern else typed
    return st.one_of(typed, shaped, st.text(max_size=field.max_len + 3))


def fresh() -> tuple[BillingStation, Session]:
    app = build(store_settings("memory"), KeyRecorder())
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    return app, main


def refused_by_its_own_label(app: BillingStation, error: InvalidInput, labels: set[str],
                             events_before: int | None) -> None:
    assert error.errors and {e.label for e in error.errors} <= labels
    assert app.recorder.max_notification_id() == events_before  # nothing half-recorded


@pytest.mark.parametrize("name", [n for n in CUSTOMER_INFORMATION if n != "email_confirmation"])
def test_CI_2_any_text_in_a_customer_information_field(name: str) -> None:
    app, main = fresh()
    field = CUSTOMER_INFORMATION[name]
    outcomes: set[str] = set()

    @given(value=values(field))
    def property_(value: str) -> None:
        form = {name: value} | ({"email_confirmation": value} if name == "email" else {})
        before = app.recorder.max_notification_id()
        try:
            confirmation = app.confirm_customer_information(main, form)
        except InvalidInput as e:
            typed = {CUSTOMER_INFORMATION[k].label for k in form}  # email: its (確認) too
            refused_by_its_own_label(app, e, typed, before)
            outcomes.add("refused")
            return
        app.submit_customer_information(main, confirmation)
        customer = app.get(main.customer_id, Customer)
        if name in SECRET_FIELDS:  # kept as a digest only (D-7); empty means unchanged
            assert not value or FAST_HASHER.matches(value, customer.information[name])
        else:  # as typed, but for what cannot be seen (spaces around, a space's width)
            shown = value if isinstance(field, ChoiceField) else field.as_typed(value)
            assert app.customer_information(main).by_label()[field.label] == shown
        outcomes.add("accepted")

    property_()
    assert outcomes == {"accepted", "refused"}  # both sides of the property were exercised


@pytest.mark.parametrize("name", [*SUB_ID_INFORMATION, *PERMISSIONS])
def test_SB_5_any_text_in_a_sub_id_field(name: str) -> None:
    app, main = fresh()
    field = {**SUB_ID_INFORMATION, **PERMISSIONS}[name]
    outcomes: set[str] = set()

    @given(value=values(field))
    def property_(value: str) -> None:
        before = app.recorder.max_notification_id()
        try:
            confirmation = app.confirm_sub_id_change(main, "sub01", {name: value})
        except InvalidInput as e:
            refused_by_its_own_label(app, e, {field.label}, before)
            outcomes.add("refused")
            return
        app.submit_sub_id_change(main, confirmation)
        shown = value if isinstance(field, ChoiceField) else field.as_typed(value)
        assert app.sub_id_information(main, "sub01").by_label()[field.label] == shown
        outcomes.add("accepted")

    property_()
    assert outcomes == {"accepted", "refused"}
