"""Who the visitor is, decided the same way by every service: from a request's facts
(cookies, the cross-domain identifier, headers, trusted proxies, the site's consent policy
and the daily salt) to a visitor id, its source and whether cookies may be set. Pure."""

from clicktrail.identity.client_ip import client_ip
from clicktrail.identity.intake import Intake, build_records
from clicktrail.identity.request import request_facts, valid_visitor_id
from clicktrail.identity.visitor import (
    Identity,
    RequestFacts,
    cookieless_id,
    cookies_refused,
    new_visitor_id,
    resolve,
)

__all__ = [
    "Identity",
    "Intake",
    "RequestFacts",
    "build_records",
    "client_ip",
    "cookieless_id",
    "cookies_refused",
    "new_visitor_id",
    "request_facts",
    "resolve",
    "valid_visitor_id",
]
