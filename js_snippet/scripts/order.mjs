// Searches for the order of the modules in the bundle that gzips smallest (the same code, so
// the same behaviour: gzip codes a repeat in fewer bits the closer it is to its first
// occurrence). Hill-climbing from the build's ORDER by moving one module at a time; prints
// each better order found, to be copied into ORDER in build.mjs. index.js stays last.
//   node scripts/order.mjs [tries]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const out = join(mkdtempSync(join(tmpdir(), 'ct-order-')), 'clicktrail.min.js')
const gzipOf = (order) => {
  const printed = execFileSync('node', ['scripts/build.mjs', `--out=${out}`, `--order=${order}`], { cwd: root })
  return +String(printed).match(/gzip -9 (\d+) B/)[1]
}
let best = readFileSync(join(root, 'scripts/build.mjs'), 'utf8').match(/^const ORDER = '(.*)'$/m)[1].split(',')
let size = gzipOf(best)
console.log(`start: ${size} B`)
const tries = +process.argv[2] || 200
for (let i = 0; i < tries; i++) {
  const modules = best.slice(0, -1)
  const [moved] = modules.splice(Math.floor(Math.random() * modules.length), 1)
  modules.splice(Math.floor(Math.random() * (modules.length + 1)), 0, moved)
  const candidate = [...modules, 'index']
  const gzip = gzipOf(candidate)
  if (gzip < size) {
    ;[best, size] = [candidate, gzip]
    console.log(`${size} B: ${best}`)
  }
}
console.log(`best: ${size} B\nconst ORDER = '${best}'`)
