import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fnv1a32, makeLinker } from '../src/linker.js'
import { fixture } from './fixtures.js'

const cases = fixture('linker.json')

test('FNV-1a 32 over UTF-16 code units matches the fixtures', () => {
  for (const { input, fnv1a32: expected } of cases.hashes) assert.equal(fnv1a32(input), expected, input)
})

test('makeLinker gives the fixture values', () => {
  for (const c of cases.make) assert.equal(makeLinker(c.visitor_id, c.now_s, c.user_agent), c.value)
})
