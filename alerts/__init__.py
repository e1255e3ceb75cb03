"""Telling the SLT: the outbox relay, the channels (email, Slack, mailbox), cases and deadlines.

Data flows one way: ``crawler`` stores mentions and outbox events; :mod:`alerts.routing`
turns each event into deliveries (one per channel) and opens a case; :mod:`alerts.relay`
sends what is due; :mod:`alerts.cases` records what the SLT did about it.
"""
