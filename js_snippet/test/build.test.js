// The committed files (the core and the linker file) are what a fresh build gives, within their
// size budgets, and size.json records their sizes (the base the next change's growth is counted
// from).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('..', import.meta.url).pathname

test('dist/ matches a fresh build, the budgets and size.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-build-'))
  const out = join(dir, 'clicktrail.min.js')
  const linkerOut = join(dir, 'clicktrail-linker.min.js')
  const sizes = join(dir, 'sizes.json')
  const args = ['--check', '--bump', `--out=${out}`, `--linker-out=${linkerOut}`, `--sizes=${sizes}`]
  execFileSync('node', ['scripts/build.mjs', ...args], { cwd: root })
  for (const [fresh, name] of [
    [out, 'clicktrail.min.js'],
    [linkerOut, 'clicktrail-linker.min.js'],
  ])
    assert.ok(readFileSync(fresh).equals(readFileSync(join(root, 'dist', name))), `dist/${name} is stale: run \`make snippet\` and commit js_snippet/dist`)
  const { raw, min, gzip, budget, target, linker } = JSON.parse(readFileSync(sizes, 'utf8'))
  assert.ok(gzip <= budget, `${gzip} B gzipped > ${budget} B`)
  assert.ok(budget <= target, `the core's budget ${budget} B is above issue 11's target ${target} B`)
  assert.ok(linker.gzip <= linker.budget, `linker file: ${linker.gzip} B gzipped > ${linker.budget} B`)
  const recorded = JSON.parse(readFileSync(join(root, 'size.json'), 'utf8'))
  const expected = { raw, min, gzip, linker: { raw: linker.raw, min: linker.min, gzip: linker.gzip } }
  assert.deepEqual(recorded, expected, 'size.json is stale: run `make snippet` and commit it')
})
