"""Alerts that reach a person: rules over the status, a durable outbox, webhook and Telegram."""
