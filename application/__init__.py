"""Billing Station's application services: the only way in (login, customer information,
permission settings), with the mail, audit and CLI adapters at the edges."""
