"""Scrapy spiders, one module per kind of source.

Importing this package registers every kind (see ``spiders.options.SourceOptions``).
Spiders yield :class:`spiders.items.Document` items and know nothing of storage or alerts.
"""
