import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SESSION_MS, touchSession } from '../src/session.js'

const T = 1764000000000
const stamp = (ms) => Math.floor(ms / 1000).toString(36)

test('no stored session starts the first one', () => {
  const [id, index, last] = touchSession(undefined, T)
  assert.match(id, /^[\w-]{1,64}$/)
  assert.equal(index, 1)
  assert.equal(last, stamp(T))
})

test('activity within 30 minutes keeps the session and slides it', () => {
  const stored = touchSession(undefined, T).join('.')
  const [id] = stored.split('.')
  const later = T + SESSION_MS
  assert.deepEqual(touchSession(stored, later), [id, 1, stamp(later)])
})

test('30 minutes and a second of inactivity start the next session', () => {
  const stored = touchSession('sA.4.' + stamp(T), T)
  assert.deepEqual(stored, ['sA', 4, stamp(T)])
  const [next, index] = touchSession(stored.join('.'), T + SESSION_MS + 1000)
  assert.notEqual(next, 'sA')
  assert.equal(index, 5)
})

test('a damaged value starts a session without throwing', () => {
  for (const bad of ['', 'x', 'a.b.c', 'a.-3.zz', '...', 0]) {
    const [id, index] = touchSession(bad, T)
    assert.ok(id && index >= 1, String(bad))
  }
})
