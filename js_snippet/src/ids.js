// Identifiers. Pure apart from crypto.getRandomValues (in browsers and Node alike).

// UUIDv7: 48 bits of milliseconds, version 7, variant 10, 72 random bits. Events, page views,
// sessions and visitors all use it: the time prefix keeps a visitor's ids roughly ordered,
// and a UUID is within the protocol's id characters ([A-Za-z0-9_-]{1,64}).
export const uuid7 = (nowMs = Date.now()) => {
  let i = 0
  return 'xxxxxxxx-xxxx-7xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () =>
    (i < 12 ? nowMs.toString(16).padStart(12, 0)[i++] : crypto.getRandomValues(new Uint8Array(1))[0] % 16).toString(16),
  )
}
