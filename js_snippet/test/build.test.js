// The committed bundle is what a fresh build gives, and it is within the size budget.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('..', import.meta.url).pathname

test('dist/clicktrail.min.js matches a fresh build and the budget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-build-'))
  const out = join(dir, 'clicktrail.min.js')
  const sizes = join(dir, 'sizes.json')
  execFileSync('node', ['scripts/build.mjs', '--check', `--out=${out}`, `--sizes=${sizes}`], { cwd: root })
  const fresh = readFileSync(out)
  const committed = readFileSync(join(root, 'dist/clicktrail.min.js'))
  assert.ok(fresh.equals(committed), 'dist/ is stale: run `make snippet` and commit js_snippet/dist')
  const { gzip, budget } = JSON.parse(readFileSync(sizes, 'utf8'))
  assert.ok(gzip <= budget, `${gzip} B gzipped > ${budget} B`)
})
