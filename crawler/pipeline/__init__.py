"""The scan pipeline: one step per module, ordered in ``crawler.crawl_settings.ITEM_PIPELINES``.

extract → match → classify → dedupe → evidence → store. Each step takes a
:class:`spiders.items.Document` and fills in its part; a document that does not mention the
school passes straight through to ``store``, which only keeps its validators.
"""
