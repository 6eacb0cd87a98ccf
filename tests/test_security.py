"""Security: enumeration (D-9), secrets never stored in clear after thousands of logins
(D-7) on SQLite and PostgreSQL, and optional encryption of personal data at rest."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from application.adapters.mailbox import MailboxFolder
from application.outcomes import ErrorPage, Refusal, TopPage
from domain.crypto import Hasher
from simulations.runner import Simulation
from simulations.scenario import Population, Scenario
from tests.conftest import build, holds, stored_bytes
from tests.story import PASSWORD, KeyRecorder, onboard


def test_D_9_an_unknown_login_ID_and_a_wrong_password_look_and_take_the_same(
    env: dict[str, str],
) -> None:
    app = build(env, MailboxFolder(Path(os.devnull)), hasher=Hasher(cost=12))
    onboard(app)
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    for _ in range(15):
        for case, login_id in (("unknown", "nobody01"), ("wrong", "main01")):
            began = time.perf_counter()
            screen = app.log_in(login_id, "not-the-password")
            timings[case].append(time.perf_counter() - began)
            assert screen == ErrorPage(Refusal.LOGIN_FAILED)  # the same words
    ratio = statistics.median(timings["unknown"]) / statistics.median(timings["wrong"])
    assert 0.5 < ratio < 2.0, timings  # the same work: a generous bound, not a benchmark


def test_D_7_no_key_and_no_password_in_the_store_after_thousands_of_logins(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    scenario = Scenario("secrets", days=10, seed=5, hash_cost=4,
                        population=Population(customers=110, notify_key_share=0.8))
    simulation = Simulation(scenario, tmp_path, store=shared_env)
    recorder = KeyRecorder(simulation.app.mailer)
    simulation.app.mailer = recorder
    simulation.run()
    simulation.close()
    keys = {k for sent in recorder.keys.values() for k in sent}
    assert simulation.tally.visits >= 2000 and len(keys) >= 1000
    data = stored_bytes(shared_env)
    assert holds(data, "c00001@example.co.jp")  # the scan sees what is stored
    leaked = [k for k in keys if holds(data, k)]
    leaked += [p.login_id for p in simulation.people if holds(data, p.password)]
    assert leaked == []


CIPHER = {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
          "CIPHER_KEY": "7EKThhwuq8YGyazVVp32k3LTTwXi5/ele5Z3V960SE4="}  # a test key only


@pytest.mark.parametrize("cipher", [False, True], ids=["plain", "encrypted"])
def test_personal_data_is_encrypted_at_rest_with_the_cipher_settings(
    shared_env: dict[str, str], tmp_path: Path, cipher: bool
) -> None:
    env = shared_env | (CIPHER if cipher else {})
    app = build(env, MailboxFolder(tmp_path), hasher=Hasher(cost=4))
    main = onboard(app, contact_name="秘密　花子", email="hanako.secret@example.co.jp",
                   email_confirmation="hanako.secret@example.co.jp")
    assert app.customer_information(main).by_label()["連絡先メールアドレス"] == "hanako.secret@example.co.jp"
    app.close()
    data = stored_bytes(env)
    for personal in ("hanako.secret@example.co.jp", "秘密　花子", "main01"):
        assert holds(data, personal) is not cipher
    reopened = build(env, MailboxFolder(tmp_path), hasher=Hasher(cost=4))
    assert isinstance(reopened.log_in("main01", PASSWORD), TopPage)  # readable with the key
    reopened.close()
