// Identifiers. Pure apart from crypto.getRandomValues (in browsers and Node alike).

// UUIDv7: 48 bits of milliseconds, version 7, variant 10, 74 random bits. Events, page views,
// sessions and visitors all use it: the time prefix keeps a visitor's ids roughly ordered,
// and a UUID is within the protocol's id characters ([A-Za-z0-9_-]{1,64}).
export const uuid7 = (nowMs = Date.now()) =>
  (
    nowMs.toString(16).padStart(12, 0) +
    7 +
    [...crypto.getRandomValues(new Uint8Array(19))].map((b, i) => (i - 3 ? b & 15 : 8 | (b & 3)).toString(16)).join('')
  ).replace(/(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')
