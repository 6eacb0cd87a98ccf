"""The services at the boundary the portal exposes: unauthenticated input bounded before
anything is recorded, roles read from the store not from the caller, unknown attempts
refused, and an OK that checks again what it is handed back."""

from __future__ import annotations

import hashlib
import json
import uuid

import attrs
import pytest

from application import AttemptNotFound, audit
from application.billing_station import BillingStation
from application.outcomes import ErrorPage, Refusal, Refused
from domain.crypto import Hasher
from domain.fields import InvalidInput
from domain.forms import Plan
from domain.login_attempt import LoginAttempt
from tests.conftest import build, stored_bytes
from tests.story import (
    FAST_HASHER,
    PASSWORD,
    SUB_PASSWORD,
    KeyRecorder,
    add_sub_id,
    first_login,
    onboard,
    sub_id_form,
)


def requested(app: BillingStation) -> list[LoginAttempt.LoginRequested]:
    return [e for e in audit.replay(app) if isinstance(e, LoginAttempt.LoginRequested)]


@pytest.mark.parametrize("login_id", ["x" * 10_000_000, "main\x0001", "ab", "山田", "a b c d",
                                      "\ud800", "Passw0rd-main"],
                         ids=["huge", "nul", "short", "kanji", "spaces", "surrogate", "password"])
def test_D_9_a_login_id_of_no_account_is_recorded_as_a_tag_never_verbatim(
    app: BillingStation, login_id: str
) -> None:
    """One of no account may be a password typed in the wrong field (a well-formed one was
    stored as typed): only a tag of its derivation is; the same text, the same tag."""
    onboard(app)
    for _ in range(2):
        assert app.log_in(login_id, PASSWORD) == ErrorPage(Refusal.LOGIN_FAILED)
    assert app.log_in(login_id + "2", PASSWORD) == ErrorPage(Refusal.LOGIN_FAILED)
    first, again, other = (event.login_id for event in requested(app))
    assert first == again != other and Hasher.tag_cost(first) == app.hasher.cost
    assert all(event.account_id is None for event in requested(app))
    stored = b"".join(n.state for n in app.recorder.select_notifications(start=None, limit=99))
    for ascii_only in (True, False):  # (as the JSON of an event may hold it)
        held = json.dumps(login_id, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        assert held not in stored


def test_D_9_a_tag_is_the_password_checks_work_not_more(
    app: BillingStation, derivations: list[tuple[str, int]]
) -> None:
    """An unknown login ID costs one derivation at the hasher's cost, as a wrong password
    does (D-9: no answer comes sooner or later for an ID that does not exist)."""
    onboard(app)
    derivations.clear()
    app.log_in("main01", "not-the-password")
    app.log_in("nobody", "not-the-password")
    app.log_in("main01", "\ud800Wrong")  # (no text typed holds one; it costs the same)
    cost = app.hasher.cost
    assert derivations == [("not-the-password", cost), ("nobody", cost), ("\ud800Wrong", cost)]


@pytest.mark.parametrize(("one", "other"), [
    ("\ud800", "\\xed\\xa0\\x80"),  # (a lone surrogate and the escape of its bytes)
    ("x" * 300, hashlib.sha256(b"x" * 300).hexdigest()),  # (a long one, and its SHA-256)
], ids=["surrogate", "long"])
def test_D_9_different_texts_give_different_tags(one: str, other: str) -> None:
    assert FAST_HASHER.unknown(one) != FAST_HASHER.unknown(other)


def test_D_9_a_huge_password_is_refused_like_any_wrong_one(
        app: BillingStation, derivations: list[tuple[str, int]]) -> None:
    """At the cost of any wrong one: scrypt never reads more than 128 characters of what a
    stranger sends (10 MB were derived whole)."""
    onboard(app)
    derivations.clear()
    assert app.log_in("main01", PASSWORD + "x" * 10_000_000) == ErrorPage(Refusal.LOGIN_FAILED)
    assert app.log_in("main01", PASSWORD.ljust(200, "x")) == ErrorPage(Refusal.LOGIN_FAILED)
    assert derivations and max(len(secret) for secret, _ in derivations) <= 128


def test_D_7_nothing_of_a_malformed_login_reaches_the_store_verbatim(
    any_env: dict[str, str]
) -> None:
    app = build(any_env, KeyRecorder())
    app.log_in("evil\x00<script>alert(1)</script>", PASSWORD)
    if any_env["PERSISTENCE_MODULE"] != "eventsourcing.popo":
        data = stored_bytes(any_env)
        assert b"<script>" not in data and b"<script>".hex().encode() not in data
    app.close()


def test_CI_1_and_SB_2_a_forged_session_is_refused_from_what_the_store_says(
    app: BillingStation
) -> None:
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    sub = first_login(app, "sub01", SUB_PASSWORD)
    forged = attrs.evolve(sub, is_main_id=True, customer_id=main.customer_id)
    with pytest.raises(Refused) as refused:
        app.confirm_customer_information(forged, {"department": "経理部"})
    assert refused.value.refusal is Refusal.MAIN_ID_ONLY_INFORMATION
    with pytest.raises(Refused):
        app.permission_settings(forged)


def test_D_3_an_unknown_attempt_is_refused_and_nothing_is_recorded(app: BillingStation) -> None:
    onboard(app)
    before = len(list(audit.replay(app)))
    with pytest.raises(AttemptNotFound):
        app.enter_key(uuid.uuid4(), "123456789012")
    main_id = onboard(app, "main02", number="BS0000002")
    with pytest.raises(AttemptNotFound):
        app.enter_key(main_id.account_id, "123456789012")  # an id, but not an attempt's
    assert len(list(audit.replay(app))) == before + 2  # only main02's onboarding


def test_CI_4_ok_checks_again_what_it_is_handed_back(app: BillingStation) -> None:
    main = onboard(app)
    confirmed = app.confirm_customer_information(main, {"department": "経理部"})
    smuggled = attrs.evolve(confirmed, values=confirmed.values | {"phone": "not-a-phone"})
    with pytest.raises(InvalidInput) as invalid:
        app.submit_customer_information(main, smuggled)
    assert [e.label for e in invalid.value.errors] == ["連絡先電話番号"]
    extra = attrs.evolve(confirmed, values=confirmed.values | {"customer_number": "BS1"})
    short = attrs.evolve(confirmed, values={k: v for k, v in confirmed.values.items()
                                            if k != "email"})  # a field missing
    for altered in (extra, short):
        with pytest.raises(InvalidInput) as invalid:
            app.submit_customer_information(main, altered)
        assert [e.label for e in invalid.value.errors] == ["確認画面"]
    assert app.customer_information(main).by_label()["部署名"] == "総務部"  # nothing applied


def test_D_7_a_secret_handed_back_in_clear_is_stored_as_a_digest(app: BillingStation) -> None:
    main = onboard(app)
    confirmed = app.confirm_new_sub_id(main, sub_id_form("sub01"))
    assert Hasher.is_digest(confirmed.values["temporary_password"])
    in_clear = attrs.evolve(confirmed, values=confirmed.values | {
        "temporary_password": "Plain-text-1"})
    app.submit_new_sub_id(main, in_clear)
    assert first_login(app, "sub01", "Plain-text-1").login_id == "sub01"
    stored = [e for e in audit.replay(app) if hasattr(e, "password_digest")]
    assert all(Hasher.is_digest(e.password_digest) for e in stored)


def test_SB_6_ok_refuses_what_the_plan_does_not_show(app: BillingStation) -> None:
    main = onboard(app, plan=Plan.DOWNLOAD)
    confirmed = app.confirm_new_sub_id(main, sub_id_form("sub01"))
    smuggled = attrs.evolve(confirmed, values=confirmed.values | {"organization": "全組織"})
    with pytest.raises(InvalidInput):
        app.submit_new_sub_id(main, smuggled)
    assert app.permission_settings(main) == []


def test_CI_2_onboarding_names_each_taken_claim(app: BillingStation) -> None:
    onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        onboard(app, "main01", number="BS5928544")
    assert [e.label for e in invalid.value.errors] == ["ログインID", "BSお客様番号"]


@pytest.mark.parametrize("cost", ["0", "21", "25", "99"])
def test_D_7_a_digest_of_a_cost_no_hasher_makes_is_no_digest(cost: str) -> None:
    """OK keeps a secret that is already a digest; one of an absurd cost (a forged
    confirmation) would break every later login, or allocate gigabytes: it is not one."""
    forged = f"scrypt${cost}${'0' * 32}${'0' * 64}"
    assert not Hasher.is_digest(forged)
    assert Hasher(cost=4).matches("anything", forged) is False
    for empty in (f"scrypt${cost}$$", f"scrypt${cost}${'0' * 32}$"):  # nothing to compare
        assert Hasher(cost=4).matches("anything", empty) is False, empty


def test_SB_7_ok_registers_no_sub_id_without_its_temporary_password(app: BillingStation
                                                                     ) -> None:
    """A confirmation handed back with the required 仮パスワード blank (changed on its way)
    is refused at OK as 確認 would refuse it; a blank may stay only where it may be left."""
    main = onboard(app)
    confirmed = app.confirm_new_sub_id(main, sub_id_form("sub01"))
    blanked = attrs.evolve(confirmed, values=confirmed.values | {"temporary_password": ""})
    with pytest.raises(InvalidInput) as invalid:
        app.submit_new_sub_id(main, blanked)
    assert [e.label for e in invalid.value.errors] == ["仮パスワード"]
    assert app.index("sub01") is None
    app.submit_new_sub_id(main, confirmed)  # as 確認 left it: a digest
    assert app.index("sub01") is not None


def test_SB_2_ok_on_a_confirmation_aimed_at_no_sub_id_of_this_customer_is_refused(
    app: BillingStation
) -> None:
    main, other = onboard(app), onboard(app, "main02", number="BS5928545")
    add_sub_id(app, main, "sub01")
    add_sub_id(app, other, "sub02")
    theirs = app.account("sub02")
    assert theirs is not None
    before = dict(theirs.information), theirs.version
    confirmed = app.confirm_sub_id_change(main, "sub01", {"memo": "x"})
    for target in (uuid.uuid4(), main.account_id, theirs.id):  # no aggregate; not a sub ID;
        with pytest.raises(Refused):  # another customer's sub ID
            app.submit_sub_id_change(main, attrs.evolve(confirmed, target_id=target))
    after = app.account("sub02")
    assert after is not None and (after.information, after.version) == before  # unrecorded
