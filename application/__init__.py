"""Billing Station's application: the manual's use cases (write side), the audit (read
side, ``application.audit``), and the composition root that builds them (``bootstrap``).

    from application import bootstrap, screens
    app = bootstrap.application()            # on the configured store and mailer
    screen = app.log_in("demo01", "Passw0rd-demo")
    print(screens.title(screen), screens.message(screen))
"""

from application import bootstrap, screens
from application.billing_station import BillingStation
from application.bootstrap import ConfigError, Settings, store_settings
from application.outcomes import (
    Completed,
    Confirmation,
    Contact,
    ContactRoute,
    ErrorPage,
    Form,
    KeyEntry,
    LoginScreen,
    Refusal,
    Refused,
    Session,
    TopPage,
)
from application.station import AttemptNotFound

__all__ = ["AttemptNotFound", "BillingStation", "Completed", "ConfigError", "Confirmation",
           "Contact", "ContactRoute", "ErrorPage", "Form", "KeyEntry", "LoginScreen", "Refusal",
           "Refused", "Session", "Settings", "TopPage", "bootstrap", "screens", "store_settings"]
