"""Privacy: who a person is across their ids, what erasing them removed, which raw events a
site's retention expires, and the tombstones the pipeline drops a forgotten person's events by.
Pure: no I/O (``pipelines/privacy`` holds the stores' side, docs/privacy.md the whole story)."""
