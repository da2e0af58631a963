import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SESSION_MS, touchSession } from '../src/session.js'

const T = 1764000000000
let n = 0
const newId = () => `s${++n}`

test('no stored session starts the first one', () => {
  const [id, index, stored] = touchSession(undefined, T, newId)
  assert.equal(index, 1)
  assert.equal(stored, `${id}.1.${(T / 1000).toString(36)}`)
})

test('activity within 30 minutes keeps the session and slides it', () => {
  const [id, , stored] = touchSession(undefined, T, newId)
  const later = T + SESSION_MS
  const [again, index, slid] = touchSession(stored, later, newId)
  assert.deepEqual([again, index], [id, 1])
  assert.equal(slid, `${id}.1.${(later / 1000).toString(36)}`)
})

test('30 minutes and a second of inactivity start the next session', () => {
  const [id, , stored] = touchSession('sA.4.' + (T / 1000).toString(36), T, newId)
  assert.equal(id, 'sA')
  const [next, index] = touchSession(stored, T + SESSION_MS + 1000, newId)
  assert.notEqual(next, 'sA')
  assert.equal(index, 5)
})

test('a damaged value starts a session without throwing', () => {
  for (const bad of ['', 'x', 'a.b.c', 'a.-3.zz', '...']) {
    const [id, index] = touchSession(bad, T, newId)
    assert.ok(id && index >= 1, bad)
  }
})
