import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_PIXEL_URL, pixelQuery } from '../src/pixel.js'
import { fixture } from './fixtures.js'

// The snippet's pixel carries a whole envelope in `j`; the collector's side of the same cases
// is tests/integration/test_collector_http.py.
test('pixel queries are exactly the snippet cases of pixel.json', () => {
  for (const c of fixture('pixel.json').snippet) {
    const query = String(pixelQuery(c.event, c.site_id, c.sent_at, c.linker))
    assert.equal(query, c.query, c.name)
    const envelope = JSON.parse(new URLSearchParams(query).get('j'))
    const expected = { site_id: c.site_id, sent_at: c.sent_at, linker: c.linker, events: [c.event] }
    assert.deepEqual(envelope, JSON.parse(JSON.stringify(expected)))
  }
})

test('a page view of an ordinary page fits the pixel', () => {
  const [, view] = fixture('pixel.json').snippet
  assert.ok(`https://collect.example.com/v1/pixel.gif?${pixelQuery(view.event, 'shop', 1)}`.length < MAX_PIXEL_URL / 2)
})
