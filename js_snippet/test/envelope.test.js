import assert from 'node:assert/strict'
import { test } from 'node:test'
import { envelope, fillBatch, MAX_BATCH_CHARS } from '../src/envelope.js'
import { uuid } from '../src/ids.js'
import { fixture } from './fixtures.js'

test('an envelope of fixture events parses back to the fixture body', () => {
  const [first] = fixture('envelopes.json').cases
  const { site_id, sent_at, events } = first.body
  // (schema 1 is the default: the snippet leaves it out)
  const { schema, ...rest } = first.body
  assert.equal(schema, 1)
  assert.deepEqual(JSON.parse(envelope(events, site_id, sent_at)), rest)
})

test('lists stay lists, whatever toJSON a page gave arrays (Prototype.js) or objects', () => {
  const saved = [Array.prototype.toJSON, Object.prototype.toJSON]
  Array.prototype.toJSON = function () {
    return '[' + this.map((v) => JSON.stringify(v)).join(', ') + ']'
  }
  Object.defineProperty(Object.prototype, 'toJSON', { value: () => 'object', configurable: true, writable: true })
  try {
    const events = [{ event_id: 'e1', category: ['Shoes', 'Running'], items: [{ sku: 'A', price: 1 }], at: new Date(0) }]
    assert.deepEqual(JSON.parse(envelope(events, 'shop', 1)).events, [
      { event_id: 'e1', category: ['Shoes', 'Running'], items: [{ sku: 'A', price: 1 }], at: '1970-01-01T00:00:00.000Z' },
    ])
  } finally {
    ;[Array.prototype.toJSON] = saved
    if (!saved[0]) delete Array.prototype.toJSON
    delete Object.prototype.toJSON
  }
})

test('the linker rides in the envelope only when there is one', () => {
  assert.equal(JSON.parse(envelope([], 'shop', 1, 'v.t.h')).linker, 'v.t.h')
  assert.ok(!('linker' in JSON.parse(envelope([], 'shop', 1))))
})

test('a batch stays under the character budget and within 100 events', () => {
  const small = Array.from({ length: 300 }, () => ({
    event_id: uuid(),
    event_type: 'x',
    created_at: 1764000000000,
    page_view_id: uuid(),
  }))
  const batch = fillBatch(small)
  assert.ok(batch.length <= 100 && batch.length > 50, String(batch.length))
  assert.ok(JSON.stringify(batch).length < MAX_BATCH_CHARS + 200)
  const huge = { event_id: uuid(), text: 'x'.repeat(MAX_BATCH_CHARS) }
  assert.deepEqual(fillBatch([huge, small[0]]), [huge], 'the first event always goes, alone if large')
})

test('uuid is a random (version 4) UUID, a new one each call', () => {
  const id = uuid()
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  assert.notEqual(uuid(), uuid())
})
