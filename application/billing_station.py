"""BillingStation: the manual's use cases as methods, the only way into the model. Each
section of the manual is a module of its own; this class puts them together."""

from __future__ import annotations

from typing import ClassVar

from application.customer_information import CustomerInformation
from application.onboarding import Onboarding
from application.permission_settings import PermissionSettings
from application.portal_sessions import PortalSessions
from application.station import Station
from domain.portal_sessions import ClientAddress, PortalSession


class BillingStation(Onboarding, CustomerInformation, PermissionSettings, PortalSessions):
    """Billing Station's notify key, event-sourced. Build it with ``application.bootstrap``."""

    snapshotting_intervals: ClassVar = {**Station.snapshotting_intervals,
                                        PortalSession: 100, ClientAddress: 100}
