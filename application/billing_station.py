"""BillingStation: the manual's use cases as methods, the only way into the model. Each
section of the manual is a module of its own; this class puts them together."""

from __future__ import annotations

from application.customer_information import CustomerInformation
from application.login import Login
from application.onboarding import Onboarding
from application.permission_settings import PermissionSettings


class BillingStation(Onboarding, CustomerInformation, PermissionSettings, Login):
    """Billing Station's notify key, event-sourced. Build it with ``application.bootstrap``."""
