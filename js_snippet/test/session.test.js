import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SESSION_MS, touchSession } from '../src/session.js'

const T = 1764000000000
let n = 0
const newId = () => `s${++n}`
const parts = (stored) => {
  const [id, index, stamp] = stored.split('.')
  return [id, +index, stamp]
}

test('no stored session starts the first one', () => {
  const stored = touchSession(undefined, T, newId)
  const [id, index] = parts(stored)
  assert.equal(index, 1)
  assert.equal(stored, `${id}.1.${(T / 1000).toString(36)}`)
})

test('activity within 30 minutes keeps the session and slides it', () => {
  const stored = touchSession(undefined, T, newId)
  const [id] = parts(stored)
  const later = T + SESSION_MS
  const slid = touchSession(stored, later, newId)
  assert.equal(slid, `${id}.1.${(later / 1000).toString(36)}`)
})

test('30 minutes and a second of inactivity start the next session', () => {
  const stored = touchSession('sA.4.' + (T / 1000).toString(36), T, newId)
  assert.deepEqual(parts(stored).slice(0, 2), ['sA', 4])
  const [next, index] = parts(touchSession(stored, T + SESSION_MS + 1000, newId))
  assert.notEqual(next, 'sA')
  assert.equal(index, 5)
})

test('a damaged value starts a session without throwing', () => {
  for (const bad of ['', 'x', 'a.b.c', 'a.-3.zz', '...', 0]) {
    const [id, index] = parts(touchSession(bad, T, newId))
    assert.ok(id && index >= 1, String(bad))
  }
})
