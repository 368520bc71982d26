"""Sync service: the context cache fed by change notifications, the outbox relay, and three-way
reconciliation (gateway ↔ billing ↔ ERP, plus CRM status) that reports and repairs drift."""
