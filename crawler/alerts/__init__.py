"""Alerts: new hits, topic spikes and source-health changes sent to mail, chat and webhooks."""
