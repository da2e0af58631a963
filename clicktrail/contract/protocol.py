"""Names on the wire that the snippet and the servers must agree on (docs/protocol.md)."""

COLLECT_PATH = "/v1/events"
PIXEL_PATH = "/v1/pixel.gif"
WITHDRAW_PATH = "/v1/withdraw"  # consent withdrawn: the collector expires its cookie

VISITOR_COOKIE = "_ct_id"  # first-party, set by the snippet: the visitor id
SESSION_COOKIE = "_ct_ses"  # first-party, set by the snippet: "<session_id>.<index>.<last_s36>"
COLLECTOR_COOKIE = "ct_vid"  # set by the collector, HttpOnly: the visitor id

WRITE_KEY_HEADER = "X-Clicktrail-Key"  # server-side senders authenticate with the site's key
