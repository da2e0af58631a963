"""Signed impression and click URLs. Pure: the keyring and the time come in.

An impression or click URL carries what happened (decision, site, campaign, creative,
placement, visitor, holdout) and an expiry, signed with the project's rotatable keys
(``clicktrail/secrets/keyring.py``: the newest key signs, a rotated-out key verifies for its
grace period). The signature covers every parameter, in a fixed order, so no value can be
changed, added or dropped; the click endpoint then redirects only to the landing URL the
campaign registered for that creative, never to a URL from the request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote_plus

from clicktrail.secrets.keyring import Keyring

SIGNATURE = "sig"
# query key -> field; the order is the order signed
FIELDS = (
    ("d", "decision_id"),
    ("s", "site_id"),
    ("c", "campaign_id"),
    ("r", "creative_id"),
    ("p", "placement"),
    ("v", "visitor_id"),
    ("h", "holdout"),
    ("x", "expires"),
)
MAX_VALUE = 128


class SignatureError(ValueError):
    """Tampered, expired, signed by an unknown or retired key, or malformed."""


@dataclass(frozen=True)
class Signed:
    decision_id: str
    site_id: str
    campaign_id: str
    creative_id: str
    placement: str
    visitor_id: str
    holdout: bool
    expires: int  # UTC seconds


def sign(action: str, signed: Signed, keyring: Keyring) -> dict[str, str]:
    """The query parameters of an ``action`` ("impression" or "click") URL."""
    params = _params(signed)
    key = keyring.current
    # What ``keyring.sign`` answers, from an HMAC keyed once per key (``_keyed``), not on
    # every URL.
    mac = _keyed(key.secret).copy()
    mac.update(_message(action, params))
    params[SIGNATURE] = (
        f"{key.key_id}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"
    )
    return params


def signed_queries(
    signed: Signed, keyring: Keyring, actions: tuple[str, ...] = ("impression", "click")
) -> list[str]:
    """The query strings of ``actions``' URLs (``sign`` of each, url-encoded): the values,
    their signed form and their query text made once for every action, a signature each."""
    values = [
        signed.decision_id,
        signed.site_id,
        signed.campaign_id,
        signed.creative_id,
        signed.placement,
        signed.visitor_id,
        "1" if signed.holdout else "0",
        str(signed.expires),
    ]
    body = "".join([f"{len(value)}:{value}" for value in values]).encode()
    plain = _PLAIN.fullmatch("".join(values)) is not None
    text = "&".join(
        [
            f"{key}={value if plain or _PLAIN.fullmatch(value) else quote_plus(value)}"
            for (key, _), value in zip(FIELDS, values, strict=True)
        ]
    )
    key = keyring.current
    keyed = _keyed(key.secret)
    out = []
    for action in actions:
        mac = keyed.copy()
        mac.update(f"{len(action)}:{action}".encode())
        mac.update(body)
        signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
        out.append(f"{text}&{SIGNATURE}={key.key_id}.{signature}")
    return out


# What needs no quoting in a query value (ids, slugs, digits, signatures: nearly every value of
# a signed URL); anything else is quoted as ``urlencode`` would.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


@functools.lru_cache(maxsize=16)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def verify(action: str, query: Mapping[str, str], keyring: Keyring, now: int) -> Signed:
    """The signed values of a request's query; raises ``SignatureError``."""
    unexpected = set(query) - {key for key, _ in FIELDS} - {SIGNATURE}
    if unexpected:
        raise SignatureError(f"unexpected parameters: {', '.join(sorted(unexpected))}")
    missing = [key for key, _ in FIELDS if key not in query] + (
        [SIGNATURE] if SIGNATURE not in query else []
    )
    if missing:
        raise SignatureError(f"missing parameters: {', '.join(missing)}")
    if any(len(query[key]) > MAX_VALUE for key, _ in FIELDS):
        raise SignatureError("a parameter is too long")
    if not keyring.verify(_message(action, query), query[SIGNATURE], now):
        raise SignatureError("bad signature (tampered, or signed by a retired key)")
    try:
        expires = int(query["x"])
    except ValueError:
        raise SignatureError("expiry is not a number") from None
    if expires < now:
        raise SignatureError("the link has expired")
    return Signed(
        decision_id=query["d"],
        site_id=query["s"],
        campaign_id=query["c"],
        creative_id=query["r"],
        placement=query["p"],
        visitor_id=query["v"],
        holdout=query["h"] == "1",
        expires=expires,
    )


def _params(signed: Signed) -> dict[str, str]:
    values = {
        "d": signed.decision_id,
        "s": signed.site_id,
        "c": signed.campaign_id,
        "r": signed.creative_id,
        "p": signed.placement,
        "v": signed.visitor_id,
        "h": "1" if signed.holdout else "0",
        "x": str(signed.expires),
    }
    return {key: values[key] for key, _ in FIELDS}


def _message(action: str, params: Mapping[str, str]) -> bytes:
    # A length before each value: no value can borrow characters from its neighbour.
    parts = [action] + [params[key] for key, _ in FIELDS]
    return "".join(f"{len(part)}:{part}" for part in parts).encode()
