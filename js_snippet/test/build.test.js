// The committed bundle is what a fresh build gives, within the size budget, and size.json
// records its sizes (the base the next change's growth is counted from).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

const root = new URL('..', import.meta.url).pathname

test('dist/clicktrail.min.js matches a fresh build, the budget and size.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ct-build-'))
  const out = join(dir, 'clicktrail.min.js')
  const sizes = join(dir, 'sizes.json')
  execFileSync('node', ['scripts/build.mjs', '--check', '--bump', `--out=${out}`, `--sizes=${sizes}`], { cwd: root })
  const fresh = readFileSync(out)
  const committed = readFileSync(join(root, 'dist/clicktrail.min.js'))
  assert.ok(fresh.equals(committed), 'dist/ is stale: run `make snippet` and commit js_snippet/dist')
  const { raw, min, gzip, budget } = JSON.parse(readFileSync(sizes, 'utf8'))
  assert.ok(gzip <= budget, `${gzip} B gzipped > ${budget} B`)
  const recorded = JSON.parse(readFileSync(join(root, 'size.json'), 'utf8'))
  assert.deepEqual(recorded, { raw, min, gzip }, 'size.json is stale: run `make snippet` and commit it')
})
