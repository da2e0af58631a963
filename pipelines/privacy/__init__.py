"""Privacy's stores side: erasure across every store (``erase.py``), the access export
(``export.py``), tombstones and the pipeline's filter (``tombstones.py``), retention
(``retention.py``) and the commands (``commands.py``). The plans are ``clicktrail.privacy``'s."""
