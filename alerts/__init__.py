"""Alert channels: read what ``crawler`` stored (the outbox) and tell the SLT."""
