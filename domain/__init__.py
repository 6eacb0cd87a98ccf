"""Billing Station's notify key (通知キー): the domain model, free of I/O."""
