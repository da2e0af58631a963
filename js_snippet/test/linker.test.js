import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkLinker, fnv1a32, makeLinker } from '../src/linker.js'
import { fixture } from './fixtures.js'

const cases = fixture('linker.json')

test('FNV-1a 32 over UTF-16 code units matches the fixtures', () => {
  for (const { input, fnv1a32: expected } of cases.hashes) assert.equal(fnv1a32(input), expected, input)
})

test('makeLinker gives the fixture values', () => {
  for (const c of cases.make) assert.equal(makeLinker(c.visitor_id, c.now_s, c.user_agent), c.value)
})

test('checkLinker accepts exactly the valid fixture cases', () => {
  for (const c of cases.check)
    assert.equal(checkLinker(c.value, c.user_agent, c.now_s) ?? null, c.visitor_id, c.name)
})

test('a made linker checks out within its window only', () => {
  const ua = 'Mozilla/5.0 Test'
  const value = makeLinker('v_1', 1764000000, ua)
  assert.equal(checkLinker(value, ua, 1764000300), 'v_1')
  assert.equal(checkLinker(value, ua, 1764000301), undefined)
  assert.equal(checkLinker(value, ua, 1763999939), undefined)
})
