"""schoolwatch's core: config, matching, tone, evidence, storage, the scan pipeline and the CLI."""

__version__ = "0.1.0"
