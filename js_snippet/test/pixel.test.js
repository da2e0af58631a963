import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pixelQuery } from '../src/pixel.js'
import { fixture } from './fixtures.js'

// The pixel carries a subset of the fields (pixel.js says which): every key it writes must
// mean what the fixture query means, and the fixture's keys it knows must all be written.
const CARRIED = new Set('e eid ct vid sid si pv uid url ref em sku tu bid n cs s st'.split(' '))

test('pixel queries match pixel.json for the keys the snippet carries', () => {
  for (const c of fixture('pixel.json').valid) {
    const ours = Object.fromEntries(pixelQuery(c.event, c.site_id, c.sent_at))
    if (c.sent_at == null) delete ours.st
    const expected = Object.fromEntries(
      [...new URLSearchParams(c.query)].filter(([key]) => CARRIED.has(key)),
    )
    assert.deepEqual(ours, expected, c.name)
  }
})
