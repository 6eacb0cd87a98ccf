"""The manual's demo customer (デモ用ユーザ01, BS5928544) and its お客様情報: the sample data the
demo, the simulations, the portal's first start and the tests all begin from."""

from __future__ import annotations

from application.billing_station import BillingStation
from application.outcomes import Session
from domain.forms import Plan

CUSTOMER_NUMBER = "BS5928544"
COMPANY, COMPANY_KANA = "デモ用ユーザ01", "デモヨウユーザゼロイチ"
PLAN = Plan.STANDARD
MAIN_ID, PASSWORD = "demo01", "Passw0rd-demo"
INFORMATION = {
    "department": "総務部",
    "department_kana": "ソウムブ",
    "contact_name": "山田　太郎",
    "contact_name_kana": "ヤマダ　タロウ",
    "phone": "0312345678",
    "email": "yamada@example.co.jp",
    "email_confirmation": "yamada@example.co.jp",
    "postal_code": "1000001",
    "address1": "東京都千代田区大手町１－１－１",
}


def onboard_demo(app: BillingStation) -> Session:
    """The demo customer and its main ID, as the demo and the portal's first start begin."""
    return app.onboard_customer(CUSTOMER_NUMBER, COMPANY, COMPANY_KANA, PLAN, MAIN_ID,
                                PASSWORD, INFORMATION)
